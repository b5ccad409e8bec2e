"""One AMI client connection to the simulator: banner, login, privileges, dispatch.

Behaviour follows Asterisk 22's manager.c, because clients are written against it:
nothing but Login/Logoff before authentication (``Permission denied``, and no
events); a failed login is answered ``Authentication failed`` and the connection
is closed; an action the user's write classes do not cover is ``Permission
denied``; an unknown one gets Asterisk's ``Invalid/unknown command`` text.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from callcenter.ami.codec import AmiCodec, AmiProtocolError, encode_frame
from callcenter.ami.message import MalformedFrame, Message
from callcenter.pbxsim.actions import HANDLERS
from callcenter.pbxsim.events import Headers, fully_booted, response
from callcenter.pbxsim.pbx import Pbx
from callcenter.pbxsim.privileges import ACTION_NAMES, ACTION_WRITE, Privileges
from callcenter.pbxsim.slow_consumer import StallWatch

log = structlog.get_logger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
READ_CHUNK = 65536
#: answered even before login, as Asterisk does
_OPEN_ACTIONS = frozenset({"login", "logoff", "challenge"})

#: (username, secret, client address) -> the user's privileges, or None when refused
Authenticate = Callable[[str, str, str], Privileges | None]


class AmiSession:
    def __init__(
        self,
        pbx: Pbx,
        authenticate: Authenticate,
        uptime_s: Callable[[], tuple[int, int]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        write_timeout_s: float | None = None,
    ) -> None:
        self._pbx = pbx
        self._authenticate = authenticate
        self._uptime_s = uptime_s
        self._reader = reader
        self._writer = writer
        self._codec = AmiCodec(expect_banner=False)
        self.username: str | None = None
        self._privileges: Privileges | None = None
        peer = writer.get_extra_info("peername")
        self.peer_host = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        self._stall = (
            None
            if write_timeout_s is None
            else StallWatch(writer.transport, write_timeout_s, self.abort)
        )

    @property
    def logged_in(self) -> bool:
        return self._privileges is not None

    def deliver(self, event_class: str, frame: bytes) -> None:
        """An event from the switch; sent if this session may read its class."""
        if self._privileges is not None and self._privileges.may_read(event_class):
            self._write(frame)

    def send(self, headers: Headers) -> None:
        self._write(encode_frame(headers))

    def _write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)
            if self._stall is not None:
                self._stall.wrote()

    def close(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
        self._writer.close()

    def abort(self) -> None:
        """Drop the connection without flushing, as a crashed Asterisk does: the
        client sees a reset, not a Goodbye."""
        if self._stall is not None:
            self._stall.cancel()
        self._writer.transport.abort()

    async def run(self) -> None:
        self._write(BANNER)
        try:
            while data := await self._reader.read(READ_CHUNK):
                for frame in self._codec.feed(data):
                    if isinstance(frame, Message):
                        self._handle(frame)
                    elif isinstance(frame, MalformedFrame):
                        log.info("simulator: malformed action skipped", reason=frame.reason)
                if self._writer.is_closing():
                    return
        except (ConnectionError, AmiProtocolError):
            return
        finally:
            self.close()

    def _handle(self, msg: Message) -> None:
        if self._writer.is_closing():
            return
        if any("\r" in value or "\n" in value for _, value in msg.headers):
            # A stray CR inside a value would be echoed into events and break framing.
            action_id = msg.action_id
            clean_id = action_id if action_id and "\r" not in action_id else None
            self.send(response(clean_id, "Error", "Invalid header value"))
            return
        tap = self._pbx.action_tap
        if tap is not None:
            tap(msg)
        name = msg.action or ""
        action = name.lower()
        if not self.logged_in and action not in _OPEN_ACTIONS:
            self.send(response(msg.action_id, "Error", "Permission denied"))
            return
        if action == "login":
            self._login(msg)
        elif action == "logoff":
            self.send(response(msg.action_id, "Goodbye", "Thanks for all the fish."))
            self.close()
        elif action not in ACTION_WRITE:
            self.send(
                response(
                    msg.action_id,
                    "Error",
                    f"Invalid/unknown command: {name}. "
                    "Use Action: ListCommands to show available commands.",
                )
            )
        elif self._privileges is not None and not self._privileges.may_send(action):
            self.send(response(msg.action_id, "Error", "Permission denied"))
        elif action == "ping":
            self.send(
                [*response(msg.action_id, "Success"), ("Ping", "Pong"),
                 ("Timestamp", f"{time.time():.6f}")]
            )  # fmt: skip
        elif action == "listcommands":
            self._list_commands(msg)
        else:
            HANDLERS[action](self._pbx, msg, self.send)

    def _login(self, msg: Message) -> None:
        if self.logged_in:
            self.send(response(msg.action_id, "Success", "Already authenticated"))
            return
        username = msg.get("Username") or ""
        privileges = self._authenticate(username, msg.get("Secret") or "", self.peer_host)
        if privileges is None:
            # Never log the secret; the user name is what an operator needs.
            log.info("simulator: AMI login refused", username=username)
            self.send(response(msg.action_id, "Error", "Authentication failed"))
            self.close()
            return
        self.username, self._privileges = username, privileges
        self.send(response(msg.action_id, "Success", "Authentication accepted"))
        self.send(fully_booted(*self._uptime_s()))

    def _list_commands(self, msg: Message) -> None:
        headers = response(msg.action_id, "Success")
        for action in ACTION_NAMES:
            privileges = ",".join(sorted(ACTION_WRITE[action.lower()])) or "<none>"
            headers.append((action, f"(Priv: {privileges})"))
        self.send(headers)
