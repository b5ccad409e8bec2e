"""Chaos 2: ``callcenter serve`` is killed with SIGKILL mid-traffic and started
again, three times in the full form, once in the short one. The PBX (the
simulator, in this process) keeps its calls across each crash, as Asterisk does;
the new process must take them over: no record lost or doubled, nothing offered
twice, no agent left ringing.

A caller who arrives and hangs up while no service runs cannot be on any
record: such calls (their whole life inside a down window, by the PBX's own
frames) are counted as *unseen*, not lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
from pathlib import Path

import pytest

from callcenter.chaos.service import HttpDesk, keep_agents_ready, service_process, wait_ready
from callcenter.chaos.traffic import Traffic
from tests.chaos.harness import FULL, closing_check, pbx_for, pick, seeded
from tests.conftest import free_port

pytestmark = [pytest.mark.timeout(900 if FULL else 180)]

SEED = seeded(202)


async def test_kill_9(chaos_db_url: str, tmp_path: Path) -> None:
    url = chaos_db_url
    kills = pick(1, 3)
    rng = random.Random(SEED)
    http_port = free_port()
    config = tmp_path / "callcenter.toml"
    config.write_text("")
    log = tmp_path / "service.log"
    base_url = f"http://127.0.0.1:{http_port}"
    async with pbx_for(url, seed=SEED) as pbx:
        env = {
            **os.environ,
            "CALLCENTER_CONFIG": str(config),
            "CALLCENTER_DATABASE_URL": url,
            "CALLCENTER_HTTP_PORT": str(http_port),
            "CALLCENTER_SIMULATOR__ENABLED": "false",
            "CALLCENTER_PBX": json.dumps(
                [{"name": "pbx1", "host": "127.0.0.1", "port": pbx.simulator.port}]
            ),
            "CALLCENTER_RULES_POLL_S": "3600",
            # the simulator writes no recording files: do not wait for them
            "CALLCENTER_RECORDINGS__FILE_WAIT_S": "0.1",
        }
        desk = HttpDesk(base_url, sorted(pbx.phones))
        traffic = Traffic(
            pbx.simulator, pbx.queues, seed=SEED, interval_s=0.1, patience_s=(3.0, 10.0),
            talk_s=(0.3, 1.5),
        )  # fmt: skip
        down: list[tuple[int, int]] = []
        ready: asyncio.Task[None] | None = None
        try:
            for n in range(kills + 1):
                with service_process(env, log) as proc:
                    await wait_ready(base_url, proc, log)
                    if down:
                        down[-1] = (down[-1][0], len(pbx.probe.frames))
                    await desk.login_all()  # tokens of the last process may be refused
                    if ready is None:
                        ready = asyncio.create_task(keep_agents_ready(desk, every_s=0.2))
                        traffic.start()
                    if n < kills:
                        await asyncio.sleep(rng.uniform(1.0, 2.5))
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(timeout=10)
                        down.append((len(pbx.probe.frames), -1))
                        await asyncio.sleep(rng.uniform(0.2, 1.0))  # traffic goes on meanwhile
                        continue
                    await asyncio.sleep(0.5)
                    placed = await traffic.stop()
                    report = await closing_check(
                        "kill_9",
                        placed=placed,
                        pbx=pbx,
                        desk=desk,
                        records_url=url,
                        faults=kills,
                        service_down=down,
                    )
        finally:
            if ready is not None:
                ready.cancel()
            await desk.close()
    assert report.ok, report.explain() + f"\nservice log: {log}"
    assert report.answered > report.placed // 2, "most calls should have been answered"
