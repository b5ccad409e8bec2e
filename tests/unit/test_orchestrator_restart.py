"""A restarted orchestrator carries on: agents keep their recorded states, a call
found talking on the PBX stays with its agent (no new offer), and agents who
were on a call that ended meanwhile become Ready once every PBX has resynced."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest_asyncio

from agents import AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import RESUMING, Orchestrator
from callcenter.orchestration.ports import OpenCall
from routing import QueueRule, RoutingRules
from tests.unit.test_orchestrator import FakeNotifier, FakeRecords, fake_pop
from tests.unit.test_orchestrator_call_control import ALICE, BOB, CALLER, CAROL, PBX, ControlDialer

LINKEDID = "pbx1-1.0"
BEFORE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
NOW = BEFORE.timestamp() + 600


def adopted(linkedid: str = LINKEDID) -> ev.CallArrived:
    return ev.CallArrived(
        PBX, linkedid, CALLER, "u1", "+14155550123", "Alice Martin", "sales", "", NOW, adopted=True
    )


Build = Callable[..., Orchestrator]


@pytest_asyncio.fixture
async def build() -> AsyncIterator[tuple[Build, ControlDialer, FakeRecords]]:
    pbx, records = ControlDialer(), FakeRecords()
    made: list[Orchestrator] = []

    def make(**kwargs: object) -> Orchestrator:
        o = Orchestrator(
            agents=[ALICE, BOB, CAROL],
            rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
            dialers={PBX: pbx},
            records=records,
            pops=fake_pop,
            notifier=FakeNotifier(),
            clock=lambda: NOW,
            awaiting_resync=[PBX],
            **kwargs,  # type: ignore[arg-type]
        )
        o.start()
        made.append(o)
        return o

    yield make, pbx, records
    for o in made:
        await o.stop()


async def test_agents_carry_on_in_their_recorded_states(
    build: tuple[Build, ControlDialer, FakeRecords],
) -> None:
    make, _, _ = build
    o = make(
        agent_states={
            ALICE.agent_id: ("ready", None, BEFORE),
            BOB.agent_id: ("not_ready", "lunch", BEFORE),
            CAROL.agent_id: ("logged_out", None, BEFORE),
        }
    )
    alice, bob = o.agent_view(ALICE.agent_id), o.agent_view(BOB.agent_id)
    assert (alice.state, alice.since) == (AgentState.READY, BEFORE.timestamp())
    assert (bob.state, bob.reason) == (AgentState.NOT_READY, "lunch")
    assert o.agent_view(CAROL.agent_id).state is AgentState.LOGGED_OUT


async def test_a_call_found_talking_stays_with_its_agent_and_nobody_is_offered_it(
    build: tuple[Build, ControlDialer, FakeRecords],
) -> None:
    make, pbx, records = build
    leg = "agentleg-c1-ab121"
    o = make(
        agent_states={
            ALICE.agent_id: ("on_call", None, BEFORE),
            BOB.agent_id: ("ready", None, BEFORE),
        },
        open_calls=[OpenCall("c1", PBX, LINKEDID, "sales", BEFORE, answered=True, legs={leg: 1})],
    )
    assert o.agent_view(ALICE.agent_id).reason == RESUMING
    o.handle(adopted())
    o.handle(ev.Bridged(PBX, LINKEDID, leg, ALICE.dial_string, NOW))
    o.handle(ev.LinkResynced(PBX, frozenset({LINKEDID}), False, NOW))
    await o.settle()
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.call_id) == (AgentState.ON_CALL, "c1")
    assert [n for n in pbx.names() if n == "originate"] == [], "no offer: the call is talking"
    assert records.named("call_answered") == [], "its first answer stays as recorded"
    o.handle(ev.CallerHungUp(PBX, LINKEDID, "talking", NOW + 5))
    o.handle(ev.CallEnded(PBX, LINKEDID, "caller", NOW + 5))
    await o.settle()
    assert records.named("call_ended") == [("c1", "answered", None, "caller")]
    assert o.agent_view(ALICE.agent_id).state is AgentState.READY


async def test_an_agent_whose_call_ended_meanwhile_is_ready_after_the_resync(
    build: tuple[Build, ControlDialer, FakeRecords],
) -> None:
    make, pbx, records = build
    o = make(
        agent_states={ALICE.agent_id: ("wrap_up", None, BEFORE)},
        open_calls=[OpenCall("c1", PBX, LINKEDID, "sales", BEFORE, answered=True)],
    )
    o.handle(adopted("pbx1-2.0"))  # a caller waiting since before, another call
    await o.settle()
    assert "originate" not in pbx.names(), "nothing offered before the resync"
    assert o.agent_view(ALICE.agent_id).state is AgentState.NOT_READY
    o.handle(ev.LinkResynced(PBX, frozenset({"pbx1-2.0"}), False, NOW))
    await o.settle()
    assert records.named("call_ended")[0][:2] == ("c1", "lost_during_disconnect")
    # Ready again, and offered the caller who waited
    assert o.agent_view(ALICE.agent_id).state is AgentState.RESERVED
    assert pbx.last("originate")["agent_target"] == ALICE.dial_string


async def test_a_call_found_on_hold_in_its_conference_is_taken_over_with_both_agents(
    build: tuple[Build, ControlDialer, FakeRecords],
) -> None:
    make, pbx, _ = build
    alice_leg, bob_leg = "agentleg-c1-ab121", "party-c1-ab122"
    o = make(
        agent_states={
            ALICE.agent_id: ("on_call", None, BEFORE),
            BOB.agent_id: ("on_call", None, BEFORE),
        },
        open_calls=[
            OpenCall(
                "c1",
                PBX,
                LINKEDID,
                "sales",
                BEFORE,
                answered=True,
                legs={alice_leg: ALICE.agent_id, bob_leg: BOB.agent_id},
            )
        ],
    )
    held = ev.CallArrived(
        PBX,
        LINKEDID,
        CALLER,
        "u1",
        "+14155550123",
        "Alice Martin",
        "sales",
        "",
        NOW,
        adopted=True,
        in_conference=True,
        on_hold=True,
    )
    o.handle(held)
    o.handle(ev.Bridged(PBX, LINKEDID, alice_leg, ALICE.dial_string, NOW))
    o.handle(ev.Bridged(PBX, LINKEDID, bob_leg, BOB.dial_string, NOW))
    o.handle(ev.LinkResynced(PBX, frozenset({LINKEDID}), False, NOW))
    await o.settle()
    assert o.agent_view(ALICE.agent_id).state is AgentState.ON_CALL
    assert o.agent_view(BOB.agent_id).state is AgentState.ON_CALL
    assert "originate" not in pbx.names()
    view = o.call_control_view(o._calls["c1"])
    assert view["on_hold"] and view["in_conference"] and view["party"]["agent_id"] == BOB.agent_id
    # Alice carries on: the caller comes back into the conference.
    await o.resume("c1", ALICE.agent_id)
    assert pbx.names()[-1] == "redirect:conference"


async def test_a_call_found_in_a_conference_with_no_leg_we_know_is_not_offered(
    build: tuple[Build, ControlDialer, FakeRecords],
) -> None:
    make, pbx, _ = build
    o = make(agent_states={ALICE.agent_id: ("ready", None, BEFORE)})
    o.handle(
        ev.CallArrived(
            PBX, LINKEDID, CALLER, "u1", "+1415", "X", "sales", "", NOW,
            adopted=True, in_conference=True, on_hold=True,
        )
    )  # fmt: skip
    o.handle(ev.LinkResynced(PBX, frozenset({LINKEDID}), False, NOW))
    await o.settle()
    assert "originate" not in pbx.names(), "the caller would be pulled away from the conference"
