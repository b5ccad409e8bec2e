"""The orchestrator when a PBX link drops and comes back, and when phones go away."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Final

import pytest_asyncio

from agents import AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.orchestration.ports import OpenCall
from routing import QueueRule, RoutingRules
from tests.unit.test_orchestrator import (
    ALICE,
    BOB,
    PBX,
    FakeDialer,
    FakeNotifier,
    FakeRecords,
    arrive,
    fake_pop,
)

LOST: Final = "lost_during_disconnect"


def _build(dialer: FakeDialer, records: FakeRecords, **kwargs: object) -> Orchestrator:
    return Orchestrator(
        agents=[ALICE, BOB],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers={PBX: dialer},
        records=records,
        pops=fake_pop,
        notifier=FakeNotifier(),
        clock=lambda: 2000.0,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest_asyncio.fixture
async def parts() -> AsyncIterator[tuple[Orchestrator, FakeDialer, FakeRecords]]:
    dialer, records = FakeDialer(), FakeRecords()
    orchestrator = _build(dialer, records)
    orchestrator.start()
    yield orchestrator, dialer, records
    await orchestrator.stop()


async def test_calls_wait_while_the_link_is_down_and_keep_their_place_after(
    parts: tuple[Orchestrator, FakeDialer, FakeRecords],
) -> None:
    o, dialer, _ = parts
    o.handle(ev.LinkDown(PBX, 1000.0))
    o.handle(arrive("pbx1-1.0", at=1001.0))
    o.handle(arrive("pbx1-2.0", at=1002.0))
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await o.settle()
    assert dialer.originates == [], "nothing is offered on a link that is down"
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "site unreachable")
    o.handle(ev.LinkResynced(PBX, frozenset({"pbx1-1.0", "pbx1-2.0"}), False, 1010.0))
    await o.settle()
    (offer,) = dialer.originates
    assert offer["linkedid"] == "pbx1-1.0", "the first caller in is still the first served"


async def test_a_call_gone_during_the_outage_is_closed_lost_and_frees_nobody_twice(
    parts: tuple[Orchestrator, FakeDialer, FakeRecords],
) -> None:
    o, _, records = parts
    o.handle(arrive("pbx1-1.0"))
    o.handle(ev.LinkDown(PBX, 1001.0))
    o.handle(ev.LinkResynced(PBX, frozenset(), False, 1005.0))
    await o.settle()
    assert o.live_call_count() == 0
    ((_call_id, outcome, phase, ended_by),) = records.named("call_ended")
    assert (outcome, phase, ended_by) == (LOST, None, None)


async def test_an_offer_lost_with_the_link_is_not_held_against_the_agent(
    parts: tuple[Orchestrator, FakeDialer, FakeRecords],
) -> None:
    o, dialer, records = parts
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive("pbx1-1.0"))
    await o.settle()
    leg_id = dialer.originates[0]["leg_id"]
    o.handle(ev.LinkDown(PBX, 1001.0))
    o.handle(ev.AgentLegFailed(PBX, "pbx1-1.0", leg_id, "PJSIP/agent01", LOST, 1002.0))
    await o.settle()
    alice = o.agent_view(ALICE.agent_id)
    # Not "no answer": out only while her site cannot be seen.
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "site unreachable")
    assert len(dialer.originates) == 1, "not offered again before the link is back"
    assert (leg_id, LOST) in records.named("offer_result")
    o.handle(ev.LinkResynced(PBX, frozenset({"pbx1-1.0"}), False, 1003.0))
    await o.settle()
    assert len(dialer.originates) == 2


async def test_records_left_open_by_an_earlier_run_are_taken_over_or_closed() -> None:
    dialer, records = FakeDialer(), FakeRecords()
    enqueued = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    o = _build(
        dialer,
        records,
        awaiting_resync=[PBX],
        open_calls=[
            OpenCall("old-waiting", PBX, "pbx1-7.0", "sales", enqueued),
            OpenCall("old-gone", PBX, "pbx1-8.0", "sales", enqueued),
        ],
    )
    o.start()
    try:
        adopted = arrive("pbx1-7.0", at=1900.0)
        o.handle(dataclasses.replace(adopted, adopted=True))
        o.handle(ev.LinkResynced(PBX, frozenset({"pbx1-7.0"}), False, 2000.0))
        await o.settle()
        assert records.named("call_enqueued") == [], "the old record goes on"
        assert [args[:2] for args in records.named("call_ended")] == [("old-gone", LOST)]
        (waiting,) = o.wallboard().waiting
        assert waiting.call_id == "old-waiting"
        assert waiting.enqueued_at == enqueued.timestamp()
    finally:
        await o.stop()


async def test_a_ready_agent_whose_phone_becomes_unreachable_goes_not_ready(
    parts: tuple[Orchestrator, FakeDialer, FakeRecords],
) -> None:
    o, dialer, _ = parts
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await o.set_agent_state(BOB.agent_id, AgentState.READY)
    o.handle(ev.PhoneReachability(PBX, "PJSIP/agent01", False, 1000.0))
    view = o.agent_view(ALICE.agent_id)
    assert (view.state, view.reason) == (AgentState.NOT_READY, "phone unreachable")
    o.handle(arrive())
    await o.settle()
    assert [x["agent_target"] for x in dialer.originates] == ["PJSIP/agent02"]


async def test_a_site_whose_link_drops_gets_no_offers_and_its_callers_wait_for_it() -> None:
    """Two sites: Bob's phone is on site B. While B's AMI is down, Bob (Ready)
    is taken out with a reason, a caller on site A is not offered to him through
    the trunk, and B's own waiting caller is held, not hung up; once B is back
    in step Bob is Ready again and each caller is offered exactly once."""
    site_b = "pbx2"
    bob = dataclasses.replace(BOB, pbx=site_b)
    dialers = {PBX: FakeDialer(), site_b: FakeDialer()}
    o = Orchestrator(
        agents=[ALICE, bob],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers=dialers,
        records=FakeRecords(),
        pops=fake_pop,
        notifier=FakeNotifier(),
        clock=lambda: 2000.0,
    )
    o.start()
    try:
        await o.set_agent_state(bob.agent_id, AgentState.READY)
        b_caller = dataclasses.replace(arrive("pbx2-1.0", at=1000.0), pbx=site_b)
        o.handle(ev.LinkDown(site_b, 999.0))
        o.handle(b_caller)
        o.handle(arrive("pbx1-1.0", at=1001.0))
        await o.settle()
        view = o.agent_view(bob.agent_id)
        assert (view.state, view.reason) == (AgentState.NOT_READY, "site unreachable")
        assert dialers[PBX].originates == dialers[site_b].originates == []
        assert dialers[site_b].hangups == [], "the held caller is frozen, not hung up"

        o.handle(ev.LinkResynced(site_b, frozenset({"pbx2-1.0"}), False, 1010.0))
        await o.settle()
        assert o.agent_view(bob.agent_id).state is AgentState.RESERVED
        offered = [*dialers[PBX].originates, *dialers[site_b].originates]
        assert [offer["linkedid"] for offer in offered] == ["pbx2-1.0"]
        await o.set_agent_state(ALICE.agent_id, AgentState.READY)
        await o.settle()
        offered = [*dialers[PBX].originates, *dialers[site_b].originates]
        assert sorted(offer["linkedid"] for offer in offered) == ["pbx1-1.0", "pbx2-1.0"]
    finally:
        await o.stop()
