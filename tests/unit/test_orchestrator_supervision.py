"""Supervisors listening in on a talking call (monitor / whisper / barge): who may,
which phone rings, which channel is spied on, and that every attempt is audited.
Driven by domain events, with the in-memory fakes of test_orchestrator.py."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from agents import AgentProfile, AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.ports import (
    Principal,
    Role,
    SupervisionError,
    SupervisionEvent,
    SupervisionFailed,
    SupervisionMode,
    SupervisionNotAudited,
    SupervisionRefused,
)
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

#: the supervisor's own phone: an agent profile with no skills (never offered calls)
SUE_PHONE = AgentProfile(3, "sue", "Sue Supervisor", "PJSIP/sue")
SUE = Principal(10, "sue", frozenset({Role.SUPERVISOR}), agent_id=SUE_PHONE.agent_id)
ADA = Principal(11, "ada", frozenset({Role.ADMIN}), agent_id=SUE_PHONE.agent_id)
PAT = Principal(12, "pat", frozenset({Role.SUPERVISOR}))
AGENT_ALICE = Principal(13, "agent01", frozenset({Role.AGENT}), agent_id=ALICE.agent_id)
LINKEDID = "pbx1-1.0"


@dataclass
class SpyDialer(FakeDialer):
    spies: list[dict[str, Any]] = field(default_factory=list)
    spy_refusal: OfferNotPlaced | None = None
    confirmed: bool = True

    async def originate_spy_leg(self, **kwargs: Any) -> bool:
        if self.spy_refusal is not None:
            raise self.spy_refusal
        self.spies.append(kwargs)
        return self.confirmed


@dataclass
class FakeAuditLog:
    events: list[SupervisionEvent] = field(default_factory=list)
    #: how many of the next writes fail
    failures: int = 0
    attempts: int = 0

    async def record(self, event: SupervisionEvent) -> None:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise OSError("database is locked")
        self.events.append(event)

    async def recent(self, limit: int) -> list[SupervisionEvent]:
        return self.events[::-1][:limit]

    def outcomes(self) -> list[tuple[str, str, str | None, int | None, str]]:
        return [(e.username, e.call_id, e.mode.value, e.agent_id, e.outcome) for e in self.events]


@dataclass
class Rig:
    orchestrator: Orchestrator
    dialer: SpyDialer
    audit: FakeAuditLog


def build(dialer: SpyDialer, audit: FakeAuditLog | None) -> Orchestrator:
    return Orchestrator(
        agents=[ALICE, BOB, SUE_PHONE],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers={PBX: dialer},
        records=FakeRecords(),
        pops=fake_pop,
        notifier=FakeNotifier(),
        clock=lambda: 1000.0,
        supervision_log=audit,
    )


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    dialer, audit = SpyDialer(), FakeAuditLog()
    orchestrator = build(dialer, audit)
    orchestrator.start()
    yield Rig(orchestrator, dialer, audit)
    await orchestrator.stop()


async def ringing_call(rig: Rig) -> tuple[str, str]:
    """A call offered to Alice, her phone not answered yet: (call id, leg id)."""
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive(LINKEDID))
    await o.settle()
    [originate] = rig.dialer.originates
    return originate["call_id"], originate["leg_id"]


async def talking_call(rig: Rig) -> tuple[str, str]:
    """A call Alice answered: (call id, her leg id)."""
    call_id, leg = await ringing_call(rig)
    rig.orchestrator.handle(ev.Bridged(PBX, LINKEDID, leg, ALICE.dial_string, 1003.0))
    return call_id, leg


async def refusal(
    rig: Rig, call_id: str, who: Principal, mode: SupervisionMode = SupervisionMode.WHISPER
) -> SupervisionError:
    with pytest.raises(SupervisionError) as refused:
        await rig.orchestrator.supervise(call_id, who, mode)
    return refused.value


async def test_a_whisper_rings_the_supervisors_phone_onto_the_agents_leg(rig: Rig) -> None:
    call_id, leg = await talking_call(rig)

    started = await rig.orchestrator.supervise(call_id, SUE, SupervisionMode.WHISPER)

    [spy] = rig.dialer.spies
    assert spy == {
        "spy_leg_id": started.spy_leg_id,
        "call_id": call_id,
        "supervisor_target": SUE_PHONE.dial_string,
        "agent_leg_id": leg,  # the agent's side: a whisper reaches the agent only
        "mode": "whisper",
    }
    assert started.spy_leg_id.startswith(f"spy-{call_id}-")
    assert (started.call_id, started.agent_id, started.confirmed) == (call_id, 1, True)
    assert rig.audit.outcomes() == [("sue", call_id, "whisper", 1, "started")]
    [event] = rig.audit.events
    assert (event.user_id, event.spy_leg_id) == (SUE.user_id, started.spy_leg_id)
    # Listening in changes nobody's state.
    assert rig.orchestrator.agent_view(ALICE.agent_id).state is AgentState.ON_CALL
    assert rig.orchestrator.agent_view(SUE_PHONE.agent_id).state is AgentState.LOGGED_OUT


@pytest.mark.parametrize("mode", list(SupervisionMode))
async def test_an_admin_may_use_every_mode(rig: Rig, mode: SupervisionMode) -> None:
    call_id, _ = await talking_call(rig)

    await rig.orchestrator.supervise(call_id, ADA, mode)

    assert [s["mode"] for s in rig.dialer.spies] == [mode.value]
    assert rig.audit.outcomes() == [("ada", call_id, mode.value, 1, "started")]


async def test_two_supervisions_of_one_call_get_their_own_legs(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)

    first = await rig.orchestrator.supervise(call_id, SUE, SupervisionMode.MONITOR)
    second = await rig.orchestrator.supervise(call_id, ADA, SupervisionMode.BARGE)

    assert first.spy_leg_id != second.spy_leg_id


async def test_an_unknown_call_is_refused_and_audited(rig: Rig) -> None:
    refused = await refusal(rig, "nosuchcall", SUE)

    assert isinstance(refused, SupervisionRefused) and refused.reason == "no_such_call"
    assert rig.dialer.spies == []
    assert rig.audit.outcomes() == [("sue", "nosuchcall", "whisper", None, "refused:no_such_call")]


async def test_a_call_still_ringing_is_not_talking(rig: Rig) -> None:
    call_id, _ = await ringing_call(rig)

    refused = await refusal(rig, call_id, SUE, SupervisionMode.BARGE)

    assert refused.reason == "not_talking"
    assert rig.dialer.spies == []
    assert rig.audit.outcomes() == [("sue", call_id, "barge", 1, "refused:not_talking")]


async def test_a_waiting_call_is_not_talking(rig: Rig) -> None:
    rig.orchestrator.handle(arrive(LINKEDID))  # nobody is Ready
    await rig.orchestrator.settle()
    [call_id] = [c.call_id for c in rig.orchestrator.wallboard().waiting]

    refused = await refusal(rig, call_id, SUE)

    assert refused.reason == "not_talking"
    assert rig.audit.outcomes() == [("sue", call_id, "whisper", None, "refused:not_talking")]


async def test_a_call_whose_caller_hung_up_is_not_talking(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)
    rig.orchestrator.handle(ev.CallerHungUp(PBX, LINKEDID, "talking", 1010.0))

    assert (await refusal(rig, call_id, SUE)).reason == "not_talking"


@pytest.mark.parametrize("agent_id", [None, 99], ids=["no profile", "unknown profile"])
async def test_a_supervisor_without_a_phone_on_file_is_refused(
    rig: Rig, agent_id: int | None
) -> None:
    call_id, _ = await talking_call(rig)

    refused = await refusal(rig, call_id, dataclasses.replace(PAT, agent_id=agent_id))

    assert refused.reason == "no_phone"
    assert "no phone on file" in str(refused)
    assert rig.dialer.spies == []
    assert rig.audit.outcomes() == [("pat", call_id, "whisper", 1, "refused:no_phone")]


async def test_an_agent_may_not_listen_in_and_the_attempt_is_audited(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)

    refused = await refusal(rig, call_id, AGENT_ALICE, SupervisionMode.MONITOR)

    assert refused.reason == "forbidden"
    assert rig.dialer.spies == []
    assert rig.audit.outcomes() == [("agent01", call_id, "monitor", None, "refused:forbidden")]


async def test_a_supervisor_whose_own_phone_is_on_a_call_is_refused(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)
    # Alice is a supervisor too, but she is the one talking.
    alice_supervising = Principal(14, "alice", frozenset({Role.SUPERVISOR}), agent_id=1)

    refused = await refusal(rig, call_id, alice_supervising)

    assert refused.reason == "phone_busy"
    assert rig.dialer.spies == []


@pytest.mark.parametrize(
    ("not_placed", "reason"),
    [
        (OfferNotPlaced("Originate refused"), "pbx_refused"),
        (OfferNotPlaced("PBX pbx1 is not in step", link_down=True), "link_down"),
    ],
)
async def test_a_supervision_the_pbx_did_not_take_fails_and_is_audited(
    rig: Rig, not_placed: OfferNotPlaced, reason: str
) -> None:
    call_id, _ = await talking_call(rig)
    rig.dialer.spy_refusal = not_placed

    failed = await refusal(rig, call_id, SUE)

    assert isinstance(failed, SupervisionFailed) and failed.reason == reason
    assert rig.audit.outcomes() == [("sue", call_id, "whisper", 1, f"failed:{reason}")]
    assert rig.audit.events[0].spy_leg_id is not None


async def test_a_surprise_below_is_audited_as_failed_and_hung_up(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)

    async def broken(**kwargs: Any) -> bool:
        raise RuntimeError("bug")

    rig.dialer.originate_spy_leg = broken  # type: ignore[method-assign]

    failed = await refusal(rig, call_id, SUE)

    assert isinstance(failed, SupervisionFailed) and failed.reason == "error"
    assert rig.audit.outcomes() == [("sue", call_id, "whisper", 1, "failed:error")]
    assert rig.dialer.hangups == [rig.audit.events[0].spy_leg_id]


async def test_an_originate_whose_answer_was_lost_is_audited_as_unconfirmed(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)
    rig.dialer.confirmed = False

    started = await rig.orchestrator.supervise(call_id, SUE, SupervisionMode.MONITOR)

    assert started.confirmed is False
    assert rig.audit.outcomes() == [("sue", call_id, "monitor", 1, "started:unconfirmed")]


async def test_a_failed_audit_write_is_retried(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)
    rig.audit.failures = 1

    await rig.orchestrator.supervise(call_id, SUE, SupervisionMode.WHISPER)

    assert rig.audit.attempts == 2
    assert rig.audit.outcomes() == [("sue", call_id, "whisper", 1, "started")]


async def test_a_supervision_that_cannot_be_audited_is_hung_up_again(rig: Rig) -> None:
    call_id, _ = await talking_call(rig)
    rig.audit.failures = 100

    not_audited = await refusal(rig, call_id, SUE)

    assert isinstance(not_audited, SupervisionNotAudited)
    [spy] = rig.dialer.spies
    assert rig.dialer.hangups == [spy["spy_leg_id"]]
    assert rig.audit.attempts == 3 and rig.audit.events == []


async def test_a_refusal_that_cannot_be_audited_fails_as_not_audited(rig: Rig) -> None:
    rig.audit.failures = 100

    assert isinstance(await refusal(rig, "nosuchcall", SUE), SupervisionNotAudited)


async def test_without_an_audit_trail_nobody_may_supervise() -> None:
    dialer = SpyDialer()
    orchestrator = build(dialer, None)
    orchestrator.start()
    rig = Rig(orchestrator, dialer, FakeAuditLog())
    try:
        call_id, _ = await talking_call(rig)
        assert isinstance(await refusal(rig, call_id, SUE), SupervisionNotAudited)
        assert dialer.spies == []
    finally:
        await orchestrator.stop()


async def test_the_supervisors_leg_is_hung_up_when_the_call_ends(rig: Rig) -> None:
    call_id, leg = await talking_call(rig)
    started = await rig.orchestrator.supervise(call_id, SUE, SupervisionMode.BARGE)
    assert rig.dialer.hangups == []

    rig.orchestrator.handle(ev.CallerHungUp(PBX, LINKEDID, "talking", 1030.0))
    rig.orchestrator.handle(ev.CallEnded(PBX, LINKEDID, "caller", 1030.0))
    await rig.orchestrator.settle()

    assert rig.dialer.hangups == [started.spy_leg_id]
    assert leg not in rig.dialer.hangups
