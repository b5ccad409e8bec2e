"""A client that stops reading is dropped, as Asterisk's ``writetimeout`` drops it,
while everyone else goes on receiving events; without a write timeout the
simulator keeps it (the default, so slow test clients are not surprised)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest_asyncio

from callcenter.ami.codec import encode_action
from callcenter.pbxsim import PbxSimulator
from callcenter.pbxsim.probe import AmiProbe

USER, SECRET = "callcenter", "callcenter-secret"
#: upper bound on the flood, far beyond what fills every buffer on the way
MAX_ROUNDS = 400
CALLS_PER_ROUND = 20


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET}, write_timeout_s=0.05)
    await simulator.start()
    yield simulator
    await simulator.stop()


async def stalled_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Logs in, reads its login answer, then never reads again. Its receive buffers
    are made small so the server's own backlog grows quickly."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    writer.write(encode_action("Login", "slow-1", [("Username", USER), ("Secret", SECRET)]))
    await reader.readuntil(b"Authentication accepted\r\n")
    return reader, writer


async def flood_until(sim: PbxSimulator, sessions: int) -> None:
    """Callers come and go until only ``sessions`` sessions are left (or the bound)."""
    for round_no in range(MAX_ROUNDS):
        if sim.connected_sessions() <= sessions:
            return
        for n in range(CALLS_PER_ROUND):
            sim.place_call(
                queue="sales", caller_number=f"+1415555{round_no:03d}{n:02d}", patience_s=0.001
            )
        await asyncio.sleep(0.001)


async def read_to_the_end(reader: asyncio.StreamReader) -> None:
    """Drain what was delivered; returns only once the connection is gone (end of
    stream or reset), so a live connection would time this out."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass


async def test_a_client_that_stops_reading_is_dropped_and_the_others_go_on(
    sim: PbxSimulator,
) -> None:
    reader, writer = await stalled_client(sim.port)
    fast = await AmiProbe.connect("127.0.0.1", sim.port)
    await fast.login(USER, SECRET)
    assert sim.connected_sessions() == 2

    await flood_until(sim, sessions=1)

    assert sim.connected_sessions() == 1, "the stalled session was dropped"
    await asyncio.wait_for(read_to_the_end(reader), 5.0)
    assert not fast.closed
    assert (await fast.request("Ping"))["Ping"] == "Pong"
    writer.close()
    await fast.close()


async def test_without_a_write_timeout_a_stalled_client_is_kept() -> None:
    sim = PbxSimulator(port=0, users={USER: SECRET})
    await sim.start()
    try:
        _reader, writer = await stalled_client(sim.port)
        for round_no in range(20):
            for n in range(CALLS_PER_ROUND):
                sim.place_call(queue="sales", caller_number=f"+1{round_no:03d}{n:02d}")
            await asyncio.sleep(0.001)
        assert sim.connected_sessions() == 1
        writer.close()
    finally:
        await sim.stop()
