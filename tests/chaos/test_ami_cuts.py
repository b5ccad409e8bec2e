"""Chaos 1: the AMI link between the service and the PBX breaks again and again
(cut, black hole, half close, with slow and chopped stretches between) while
callers keep coming. Ten breaks in the full form, two in the short one."""

from __future__ import annotations

import asyncio
import random

from callcenter.chaos.link_breaks import TEN_BREAKS, break_link
from callcenter.chaos.proxy import FaultProxy
from callcenter.chaos.service import InProcessDesk, in_process, keep_agents_ready
from callcenter.chaos.traffic import Traffic
from callcenter.pbx_link import PbxLink
from callcenter.settings import Settings
from tests.chaos.harness import NO_RECORDING_WAIT, closing_check, pbx_for, pick, seeded
from tests.conftest import free_port

SEED = seeded(101)


async def test_ami_cuts(chaos_db_url: str) -> None:
    url = chaos_db_url
    breaks = pick(["half_close", "black_hole"], list(TEN_BREAKS))
    rng = random.Random(SEED)
    async with pbx_for(url, seed=SEED) as pbx:
        proxy = FaultProxy("127.0.0.1", pbx.simulator.port, seed=SEED)
        await proxy.start()
        settings = Settings(
            database_url=url,
            http_port=free_port(),
            pbx=[{"name": "pbx1", "port": proxy.port, "ping_interval_s": 0.3}],
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
                traffic = Traffic(pbx.simulator, pbx.queues, seed=SEED, interval_s=0.05)
                traffic.start()
                await asyncio.sleep(1.0)
                await break_link(proxy, link, breaks, between_s=lambda: rng.uniform(0.3, 0.9))
                await asyncio.sleep(1.0)
                placed = await traffic.stop()
                report = await closing_check(
                    "ami_cuts",
                    placed=placed,
                    pbx=pbx,
                    desk=desk,
                    records_url=url,
                    faults=len(breaks),
                )
                ready.cancel()
        finally:
            await proxy.stop()
    assert proxy.connections >= len(breaks) + 1, "each break should have forced a reconnect"
    assert report.ok, report.explain()
    assert report.answered > report.placed // 2, "most calls should have been answered"
