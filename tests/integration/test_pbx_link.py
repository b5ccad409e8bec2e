"""The PBX link's reader never blocks: a full event queue drops the link, and the
resync that follows finds every call the dropped events would have told about."""

from __future__ import annotations

import asyncio

from callcenter import metrics
from callcenter.ami import events as ev
from callcenter.pbx_link import PbxLink
from callcenter.pbxsim import PbxSimulator
from callcenter.settings import PbxSettings

SECRET = "callcenter-secret"


async def test_a_full_event_queue_drops_the_link_and_the_resync_adopts_every_caller() -> None:
    simulator = PbxSimulator(users={"callcenter": SECRET}, dids={"100": "sales"}, seed=3)
    await simulator.start()
    settings = PbxSettings(name="tiny-queue", port=simulator.port, ping_interval_s=1.0)
    link = PbxLink(settings, queue_limit=8, backoff_initial_s=0.05)
    seen: list[ev.DomainEvent] = []
    overflows = metrics.AMI_OVERFLOWS.labels(pbx="tiny-queue")
    before = overflows._value.get()
    try:
        await link.start(seen.append)
        await link.wait_in_step(5)
        # One burst: far more events reach the reader at once than the queue holds.
        linkedids = {
            simulator.place_call(queue="sales", caller_number=f"+1202555{n:04d}", talk_s=60)
            for n in range(12)
        }
        await asyncio.sleep(0.3)
        await link.wait_in_step(10)
        assert overflows._value.get() > before, "the queue overflowed and said so"
        assert any(isinstance(e, ev.LinkDown) for e in seen)
        assert set(link.tracker.live_calls) == linkedids
        arrived = {e.linkedid for e in seen if isinstance(e, ev.CallArrived)}
        assert arrived == linkedids, "each caller reported once, dropped events or not"
        assert sum(isinstance(e, ev.CallArrived) for e in seen) == len(linkedids)
        adopted = [e for e in seen if isinstance(e, ev.CallArrived) and e.adopted]
        assert adopted, "the callers whose events were dropped came back through the resync"
        assert link.queue_depth == 0
    finally:
        await link.stop()
        await simulator.stop()
