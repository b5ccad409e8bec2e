"""Chaos 5: one agent's phone flaps while calls come in: every 0.5-1 s it
unregisters, registers again, turns busy, stops answering, answers again.

Its offers must fail over to other agents (a failed offer puts the call back in
the queue), no call may be offered twice at once, and the agent must end in a
sane state (not left ringing, reserved or on a call), with every invariant
holding afterwards.
"""

from __future__ import annotations

import asyncio
import random

from callcenter.chaos.flapping import FlappingPhone
from callcenter.chaos.invariants import load_records
from callcenter.chaos.service import InProcessDesk, in_process, keep_agents_ready
from callcenter.chaos.traffic import Traffic
from callcenter.pbx_link import PbxLink
from callcenter.settings import Settings
from tests.chaos.harness import NO_RECORDING_WAIT, closing_check, pbx_for, pick, seeded
from tests.conftest import free_port

SEED = seeded(505)


async def test_flapping_phone(chaos_db_url: str) -> None:
    url = chaos_db_url
    rng = random.Random(SEED)
    async with pbx_for(url, seed=SEED) as pbx:
        flapper = rng.choice(sorted(pbx.phones))
        dial_string = pbx.phones[flapper]
        settings = Settings(
            database_url=url,
            http_port=free_port(),
            pbx=[{"name": "pbx1", "port": pbx.simulator.port}],
            simulator={"enabled": False},
            recordings=NO_RECORDING_WAIT,
        )
        async with in_process(settings) as app:
            runtime = app.state.runtime
            link: PbxLink = runtime.links["pbx1"]
            desk = InProcessDesk(runtime.orchestrator)
            await link.wait_in_step(30)
            ready = asyncio.create_task(keep_agents_ready(desk))
            # long enough talks that most agents are busy: the flapping one is
            # offered a call whenever it is Ready
            traffic = Traffic(
                pbx.simulator, pbx.queues, seed=SEED, interval_s=0.1, talk_s=(1.0, 2.5)
            )
            traffic.start()
            phone = FlappingPhone(pbx.simulator, dial_string, seed=SEED)
            flapping = asyncio.create_task(phone.run())
            await asyncio.sleep(pick(6.0, 40.0))
            flapping.cancel()
            # back to a phone that answers, so the agent can end Ready
            phone.set_mood("answers")
            placed = await traffic.stop()
            report = await closing_check(
                "flapping_phone",
                placed=placed,
                pbx=pbx,
                desk=desk,
                records_url=url,
                faults=phone.flaps,
            )
            ready.cancel()
            final_state = (await desk.states())[flapper]
            flapper_id = desk.agent_id(flapper)
    records = await load_records(url)
    failed = [
        r for r in records
        for o in r.offers
        if o.agent_id == flapper_id and o.result not in (None, "answered", "canceled")
    ]  # fmt: skip
    failed_over = [r for r in failed if r.outcome == "answered" and r.agent_id != flapper_id]
    print(f"flapper {flapper}: {len(failed)} failed offers, {len(failed_over)} failed over")
    assert report.ok, report.explain()
    assert final_state in ("ready", "not_ready", "wrap_up"), f"{flapper} ended {final_state}"
    assert failed, "the flapping phone never failed an offer: no fault was exercised"
    assert failed_over, "no call the flapping phone failed was answered by another agent"
