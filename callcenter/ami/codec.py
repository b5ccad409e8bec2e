"""Sans-I/O AMI codec, in the manner of h11: bytes in, messages out; headers in, bytes out.

Why bytes are split before they are decoded: a TCP read can end in the middle of a
multi-byte UTF-8 character (``Chloé``); decoding only whole frames keeps every name
intact, where decoding each read (panoramisk) loses the character.

Why encoding refuses CR and LF: a value with a line break would let whoever
controls it append headers to an action (an ``Application: System`` to an
Originate, AST-2012-012). Every value that reaches Asterisk goes through here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from callcenter.ami.message import Banner, MalformedFrame, Message

FRAME_END = b"\r\n\r\n"
LINE_END = b"\r\n"
DEFAULT_MAX_FRAME_BYTES = 1 << 20

_HEADER_NAME = re.compile(r"[A-Za-z0-9_\-]+\Z")
#: Header names already checked: a PBX sends the same few dozen all day, and the
#: regex was most of the cost of encoding an event (bounded, names are not data).
_VALID_NAMES: set[str] = set()
_MAX_VALID_NAMES = 4096

Frame = Message | Banner | MalformedFrame


class AmiProtocolError(Exception):
    """Base of the codec's errors; subclasses say whose fault it was."""


class LocalProtocolError(AmiProtocolError):
    """We tried to send something that is not valid AMI (or would be unsafe)."""


class RemoteProtocolError(AmiProtocolError):
    """The peer sent something we cannot frame at all (e.g. an unbounded frame)."""


#: Decides from a frame's raw bytes whether anybody will read it.
FrameFilter = Callable[[bytes], bool]


class AmiCodec:
    """Frames a byte stream into AMI messages.

    ``expect_banner`` is True on the client side (Asterisk greets first) and False
    on the server side (the simulator reads actions straight away).

    ``wanted``, when given, sees each raw frame before it is decoded; frames it
    turns down are counted in ``skipped`` and never parsed. Why: about half of
    what Asterisk sends (Newexten, NewCallerid, LocalBridge...) matters to no one
    downstream, and parsing is most of the listener's cost.

    A frame longer than ``max_frame_bytes`` is not buffered without bound: it is
    cut, reported as a ``MalformedFrame`` and skipped up to its blank line, and
    the stream carries on with the next frame.
    """

    __slots__ = ("_buffer", "_expect_banner", "_max_frame_bytes", "_skipping", "_wanted", "skipped")

    def __init__(
        self,
        *,
        expect_banner: bool = True,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        wanted: FrameFilter | None = None,
    ) -> None:
        self._buffer = b""
        self._expect_banner = expect_banner
        self._max_frame_bytes = max_frame_bytes
        self._wanted = wanted
        self._skipping = False
        self.skipped = 0

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame they complete, in order."""
        buf = self._buffer + data if self._buffer else data
        out: list[Frame] = []
        if self._skipping:
            end = buf.find(FRAME_END)
            if end < 0:
                self._buffer = buf[-3:]  # the blank line may straddle two reads
                return out
            buf = buf[end + 4 :]
            self._skipping = False
        if self._expect_banner:
            end = buf.find(LINE_END)
            if end < 0:
                self._keep(buf)
                return out
            out.append(Banner(buf[:end].decode("utf-8", "replace")))
            buf = buf[end + 2 :]
            self._expect_banner = False
        frames = buf.split(FRAME_END)
        rest = frames.pop()
        wanted = self._wanted
        limit = self._max_frame_bytes
        for raw in frames:
            if not raw:
                continue
            if len(raw) > limit:
                out.append(self._too_long(raw))
            elif wanted is None or wanted(raw):
                out.append(parse_frame(raw))
            else:
                self.skipped += 1
        if len(rest) > limit:
            out.append(self._too_long(rest))
            self._skipping = True
            rest = rest[-3:]
        self._buffer = rest
        return out

    def _keep(self, rest: bytes) -> None:
        """Before the banner there is no frame to skip to: a peer that sends more
        than a frame's worth of bytes without a line end is not Asterisk."""
        if len(rest) > self._max_frame_bytes:
            self._buffer = b""
            raise RemoteProtocolError(f"no AMI banner in the first {len(rest)} bytes")
        self._buffer = rest

    def _too_long(self, raw: bytes) -> MalformedFrame:
        return MalformedFrame(
            raw[:256], f"frame longer than {self._max_frame_bytes} bytes; skipped"
        )


def parse_frame(raw: bytes) -> Message | MalformedFrame:
    """Parse one frame (without its terminating blank line).

    The hot path of the listener: one decode per frame, one pass over the lines
    that builds both the ordered headers and the first-value index.
    """
    headers: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(": ")
        if not sep:
            if not line:
                continue
            # "Name:" with an empty value and no space is still a header.
            name, sep, value = line.partition(":")
            if not sep:
                return MalformedFrame(raw, f"line without a header name: {line[:80]!r}")
        if not name or " " in name:
            return MalformedFrame(raw, f"line without a header name: {line[:80]!r}")
        headers.append((name, value))
        if name not in first:
            first[name] = value
    if not headers:
        return MalformedFrame(raw, "empty frame")
    return Message(tuple(headers), first)


HeaderSource = Iterable[tuple[str, str]] | Mapping[str, str]


def _pairs(headers: HeaderSource) -> Iterable[tuple[str, str]]:
    return headers.items() if isinstance(headers, Mapping) else headers


def encode_frame(headers: HeaderSource) -> bytes:
    """Encode headers as one frame, refusing anything that could inject lines."""
    parts: list[str] = []
    for name, value in _pairs(headers):
        if name not in _VALID_NAMES:
            if not _HEADER_NAME.match(name):
                raise LocalProtocolError(f"invalid AMI header name {name!r}")
            if len(_VALID_NAMES) < _MAX_VALID_NAMES:
                _VALID_NAMES.add(name)
        if "\r" in value or "\n" in value:
            raise LocalProtocolError(f"line break in the value of AMI header {name!r}")
        parts.append(f"{name}: {value}\r\n")
    parts.append("\r\n")
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"a value cannot be sent as UTF-8: {exc.reason}") from exc


def encode_action(action: str, action_id: str, headers: HeaderSource = ()) -> bytes:
    """Encode an action; ``Action`` and ``ActionID`` always come first."""
    return encode_frame([("Action", action), ("ActionID", action_id), *_pairs(headers)])


def encode_message(message: Message) -> bytes:
    return encode_frame(message.headers)
