"""``callcenter replay``: run a raw AMI capture through the call tracker, offline.

A capture (``NN-name.ami``) is every byte Asterisk sent; its sibling ``.actions``
file lists what the client sent, as ``--- +N ms`` blocks (``[connN]`` marks a block
of a later connection). The client's Originates of agent legs are announced to the
tracker just before Asterisk's Response to them, which is where the live service
announces them too (before sending), so the replay sees what the service would see.
The outcome of each call is built from the tracker's domain events, exactly as the
live service builds it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from callcenter.ami.codec import AmiCodec, FrameFilter
from callcenter.ami.events import DomainEvent
from callcenter.ami.message import Message
from callcenter.ami.outcomes import CallOutcomeBook
from callcenter.ami.tracker import CallTracker

REPLAY_PBX = "pbx1"
CONNECT_CONTEXT = "callcenter-connect"
AGENT_LEG_CONTEXTS = frozenset({CONNECT_CONTEXT, "callcenter-conf"})

_ACTION_BLOCK = re.compile(rb"^--- \+\d+ ms\n", re.MULTILINE)
_CONNECTION_TAG = re.compile(rb"\A\[conn(\d+)\] ")
_CONNECTION_SEPARATOR = re.compile(rb"(?:\r\n)?=== [^\r\n]* connection ===\r\n")


@dataclass(frozen=True, slots=True)
class SentAction:
    """One action of an ``.actions`` file; ``connection`` counts from 1."""

    connection: int
    message: Message


def read_actions(path: Path) -> list[SentAction]:
    """Parse an ``.actions`` file (missing file: no actions)."""
    if not path.is_file():
        return []
    actions: list[SentAction] = []
    for block in _ACTION_BLOCK.split(path.read_bytes()):
        if not block.strip():
            continue
        connection = 1
        tag = _CONNECTION_TAG.match(block)
        if tag is not None:
            connection = int(tag.group(1))
            block = block[tag.end() :]
        for frame in AmiCodec(expect_banner=False).feed(block):
            if isinstance(frame, Message):
                actions.append(SentAction(connection, frame))
    return actions


def split_connections(data: bytes) -> list[bytes]:
    """The byte streams of each connection in a capture (``=== second connection ===``)."""
    return _CONNECTION_SEPARATOR.split(data)


def _originate_variables(action: Message) -> dict[str, str]:
    pairs = (value.partition("=") for value in action.get_all("Variable"))
    return {name: value for name, _, value in pairs}


def announce(tracker: CallTracker, action: Message) -> None:
    """Tell the tracker about an action the client sent, as the live service does."""
    if action.action != "Originate" or action.get("Context") not in AGENT_LEG_CONTEXTS:
        return
    leg_id = action.get("ChannelId")
    if not leg_id:
        return
    variables = _originate_variables(action)
    tracker.expect_agent_leg(
        leg_id=leg_id,
        action_id=action.action_id or "",
        agent_target=action.get("Channel", "") or "",
        caller_channel=variables.get("CC_CALLER_CHANNEL", ""),
        call_id=variables.get("CC_CALL_ID", ""),
        must_bridge=action.get("Context") == CONNECT_CONTEXT,
    )


def replay_events(
    path: Path, wanted: FrameFilter | None = None, read_sizes: Iterator[int] | None = None
) -> Iterator[DomainEvent]:
    """The tracker's domain events for a capture, in order; ``at`` is the frame's
    position in the capture (a capture has no clock). ``wanted``: the frame filter
    the live link uses; ``read_sizes``: cut each connection's bytes into reads of
    these sizes, as TCP might deliver them (default: one read)."""
    tracker = CallTracker(pbx=REPLAY_PBX)
    actions = read_actions(path.with_suffix(".actions"))
    frame_number = 0
    for connection, stream in enumerate(split_connections(path.read_bytes()), start=1):
        unsent = {
            a.message.action_id: a.message
            for a in actions
            if a.connection == connection and a.message.action_id
        }
        codec = AmiCodec(expect_banner=True, wanted=wanted)
        for frame in (f for data in _reads(stream, read_sizes) for f in codec.feed(data)):
            frame_number += 1
            if not isinstance(frame, Message):
                continue
            if frame.is_response and frame.action_id in unsent:
                announce(tracker, unsent.pop(frame.action_id))
            yield from tracker.feed(frame, at=float(frame_number))


def _reads(stream: bytes, sizes: Iterator[int] | None) -> Iterator[bytes]:
    if sizes is None:
        yield stream
        return
    pos = 0
    while pos < len(stream):
        size = max(1, next(sizes))
        yield stream[pos : pos + size]
        pos += size


def replay_file(path: Path, read_sizes: Iterator[int] | None = None) -> list[dict[str, object]]:
    """One dict per call of the capture, in order of arrival (the expected.jsonl format)."""
    book = CallOutcomeBook()
    for event in replay_events(path, read_sizes=read_sizes):
        book.feed(event)
    return book.as_dicts()


def main_lines(path: Path) -> Iterator[str]:
    """The lines ``callcenter replay`` prints."""
    for call in replay_file(path):
        yield json.dumps(call, ensure_ascii=False)
