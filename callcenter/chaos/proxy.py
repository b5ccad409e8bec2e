"""A fault-injecting TCP proxy on loopback, between the service and a PBX.

Why a proxy and not mocks: the faults that lose calls in production live in the
socket (a NAT that forgets a flow, a half-closed connection, a link that stays
"up" and carries nothing, reads cut mid-frame), and only real TCP shows how the
AMI client and the resync behave under them. The chaos suite and the fault tests
put this between the ACD and the PBX simulator.

Faults, switched at any time:

- ``cut()``: every open connection is aborted (RST) in both directions;
- ``black_hole()``: connections stay open but carry nothing either way (what a
  dead NAT entry looks like: only unanswered pings reveal it);
- ``half_close()``: the PBX side's stream ends towards the client (EOF), the
  other direction stays open;
- ``delay(seconds)``: every chunk waits before it is forwarded (order kept);
- ``split(max_bytes)``: data is forwarded in pieces of 1..max_bytes bytes;
- ``heal()``: back to a clean pipe (delay and split off, black hole lifted).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)

CHUNK = 65536


@dataclass(eq=False)
class _Pipe:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()


class FaultProxy:
    """Listens on ``host:port`` (0: any free port) and forwards to the target."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = port
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._delay_s = 0.0
        self._split: int | None = None
        self._black_hole = False
        self.connections = 0
        self.faults: list[str] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    # -- faults -----------------------------------------------------------------

    def cut(self) -> None:
        self.faults.append("cut")
        for pipe in list(self._pipes):
            pipe.abort()

    def black_hole(self) -> None:
        self.faults.append("black_hole")
        self._black_hole = True

    def half_close(self) -> None:
        """EOF towards the clients; their requests still reach the PBX."""
        self.faults.append("half_close")
        for pipe in list(self._pipes):
            with contextlib.suppress(OSError, RuntimeError):
                if pipe.client.can_write_eof():
                    pipe.client.write_eof()

    def delay(self, seconds: float) -> None:
        self.faults.append(f"delay:{seconds}")
        self._delay_s = seconds

    def split(self, max_bytes: int) -> None:
        self.faults.append(f"split:{max_bytes}")
        self._split = max(1, max_bytes)

    def heal(self) -> None:
        self._delay_s, self._split, self._black_hole = 0.0, None, False

    # -- forwarding -----------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.create_task(self._pump(reader, up_writer, pipe)),
            asyncio.create_task(self._pump(up_reader, writer, pipe, towards_client=True)),
        ]
        try:
            await asyncio.gather(*pipe.tasks, return_exceptions=True)
        finally:
            self._pipes.discard(pipe)
            pipe.abort()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pipe: _Pipe,
        *,
        towards_client: bool = False,
    ) -> None:
        try:
            while data := await reader.read(CHUNK):
                if self._black_hole:
                    continue  # swallowed: the link looks up and carries nothing
                if self._delay_s:
                    await asyncio.sleep(self._delay_s)
                for piece in self._pieces(data):
                    if writer.transport.is_closing():
                        return
                    writer.write(piece)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not towards_client:
                pipe.abort()  # the client went: the PBX side goes too
            elif not writer.transport.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    if writer.can_write_eof():
                        writer.write_eof()

    def _pieces(self, data: bytes) -> list[bytes]:
        if self._split is None:
            return [data]
        pieces = []
        while data:
            size = self._rng.randint(1, self._split)
            pieces.append(data[:size])
            data = data[size:]
        return pieces
