"""A raw AMI client that records every frame it receives.

Why it exists beside ``callcenter.ami.client``: that client interprets the wire
(login, correlation, resync) and so hides exactly what the simulator's tests must
see — every byte-level frame, in order, as a real Asterisk would send it. The
probe does nothing but send actions and keep what comes back, so tests can hold
the simulator to the captures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from callcenter.ami.codec import AmiCodec, encode_action
from callcenter.ami.message import Banner, Message

READ_CHUNK = 65536

ActionHeaders = Iterable[tuple[str, str]]


class ProbeTimeout(AssertionError):
    """The frame a probe waited for did not arrive in time."""


@dataclass
class AmiProbe:
    """One TCP connection to an AMI server, recording what it receives."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    banner: Banner | None = None
    frames: list[Message] = field(default_factory=list)
    closed: bool = False
    _codec: AmiCodec = field(default_factory=AmiCodec)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _pump: asyncio.Task[None] | None = None
    _next_id: int = 0

    @classmethod
    async def connect(cls, host: str, port: int) -> AmiProbe:
        reader, writer = await asyncio.open_connection(host, port)
        probe = cls(reader, writer)
        probe._pump = asyncio.create_task(probe._read())
        return probe

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(READ_CHUNK):
                for frame in self._codec.feed(data):
                    if isinstance(frame, Banner):
                        self.banner = frame
                    elif isinstance(frame, Message):
                        self.frames.append(frame)
                self._arrived.set()
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self._arrived.set()

    def send(self, action: str, headers: ActionHeaders = (), *, action_id: str = "") -> str:
        """Send an action; returns its ActionID (one is made up if none is given)."""
        if not action_id:
            self._next_id += 1
            action_id = f"probe-{self._next_id}"
        self.writer.write(encode_action(action, action_id, headers))
        return action_id

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def wait_for(
        self, predicate: Callable[[Message], bool], *, timeout_s: float = 5.0, start: int = 0
    ) -> Message:
        """The first recorded frame (from index ``start``) that matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            for frame in self.frames[start:]:
                if predicate(frame):
                    return frame
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                raise ProbeTimeout(f"no matching frame among {len(self.frames)} received")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def response_to(self, action_id: str, *, timeout_s: float = 5.0) -> Message:
        return await self.wait_for(
            lambda m: m.is_response and m.action_id == action_id, timeout_s=timeout_s
        )

    async def request(
        self, action: str, headers: ActionHeaders = (), *, timeout_s: float = 5.0
    ) -> Message:
        """Send an action and wait for its response."""
        return await self.response_to(self.send(action, headers), timeout_s=timeout_s)

    async def login(self, username: str, secret: str) -> Message:
        return await self.request("Login", [("Username", username), ("Secret", secret)])

    async def wait_closed(self, *, timeout_s: float = 5.0) -> None:
        if self._pump is not None:
            await asyncio.wait_for(asyncio.shield(self._pump), timeout_s)

    def events(self, name: str | None = None) -> list[Message]:
        return [m for m in self.frames if m.event is not None and (name is None or m.event == name)]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
