"""Chaos 3: the database (PostgreSQL) unreachable for 30 s (5 s in the short
form) under sustained traffic. The service reaches it through a fault proxy
that resets every connection and then swallows everything (new connections
open and hang, as behind a dead route) for the period, then heals.

Calls must keep being routed meanwhile (the PBX's frames show agent legs rung
during the outage), and once the database is back every record must land: one
per call, closed, no duplicate.

Why the proxy resets its connections when the outage ends: it swallows bytes,
which TCP never does (a real network retransmits them or the connection times
out); a connection that lost bytes mid-stream cannot be resumed by any client,
so at the end of the outage those connections are reset, as a TCP timeout
would end them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from callcenter.chaos.proxy import FaultProxy
from callcenter.chaos.service import InProcessDesk, in_process, keep_agents_ready
from callcenter.chaos.traffic import Traffic
from callcenter.pbx_link import PbxLink
from callcenter.settings import Settings
from tests.chaos.harness import FULL, NO_RECORDING_WAIT, closing_check, pbx_for, pick, seeded
from tests.conftest import (
    _create_pg_database,
    _drop_pg_database,
    _postgres_reachable,
    free_port,
    seed_database,
)

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600 if FULL else 180)]

SEED = seeded(303)
PG_HOST, PG_PORT = "127.0.0.1", 5432


@pytest.fixture
def chaos_database() -> Iterator[str]:
    """A fresh, seeded database on the loopback PostgreSQL; its name (dropped after)."""
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}")
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    _create_pg_database(name)
    try:
        seed_database(f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}", customers=50)
        yield name
    finally:
        _drop_pg_database(name)


async def test_database_outage(chaos_database: str) -> None:
    direct = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{chaos_database}"
    outage_s = pick(5.0, 30.0)
    async with pbx_for(direct, seed=SEED) as pbx:
        proxy = FaultProxy(PG_HOST, PG_PORT, seed=SEED)
        await proxy.start()
        settings = Settings(
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{chaos_database}",
            http_port=free_port(),
            pbx=[{"name": "pbx1", "port": pbx.simulator.port}],
            simulator={"enabled": False},
            recordings=NO_RECORDING_WAIT,
        )
        try:
            async with in_process(settings) as app:
                runtime = app.state.runtime
                link: PbxLink = runtime.links["pbx1"]
                desk = InProcessDesk(runtime.orchestrator)
                await link.wait_in_step(30)
                ready = asyncio.create_task(keep_agents_ready(desk))
                traffic = Traffic(pbx.simulator, pbx.queues, seed=SEED, interval_s=0.1)
                traffic.start()
                await asyncio.sleep(1.0)
                outage_from = len(pbx.probe.frames)
                proxy.cut()
                proxy.black_hole()
                await asyncio.sleep(outage_s)
                proxy.cut()
                proxy.heal()
                outage_to = len(pbx.probe.frames)
                await asyncio.sleep(1.0)
                placed = await traffic.stop()
                report = await closing_check(
                    "database_outage",
                    placed=placed,
                    pbx=pbx,
                    desk=desk,
                    records_url=direct,
                    faults=1,
                    timeout_s=90,
                )
                ready.cancel()
        finally:
            await proxy.stop()
    rung_in_outage = sum(
        1
        for frame in pbx.probe.frames[outage_from:outage_to]
        if frame.event == "Newchannel" and (frame.get("Uniqueid") or "").startswith("agentleg-")
    )
    assert report.ok, report.explain()
    assert rung_in_outage > 0, "no agent was offered a call while the database was away"
    assert report.answered > report.placed // 2, "most calls should have been answered"
