"""The post-call survey in the orchestrator: offers of a queue with ``survey`` ask
the dialplan for it, the agent is free as soon as they hang up while the caller
answers, the score is stored, and a caller left alone in its conference is sent
to the survey by callcenter itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from agents import AgentState
from callcenter.ami import events as ev
from callcenter.ports import TransferTarget
from routing import QueueRule, RoutingRules
from tests.unit.test_orchestrator_call_control import (
    ALICE,
    CALLER,
    CAROL,
    LINKEDID,
    PBX,
    Rig,
    control_rig,
)


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    rules = RoutingRules(
        queues=[
            QueueRule(name="sales", skills={"sales": 1}, survey=True),
            QueueRule(name="support", skills={"support": 1}),
        ]
    )
    async with control_rig(rules) as rig:
        yield rig


async def test_only_a_queue_with_a_survey_offers_its_calls_with_one(rig: Rig) -> None:
    await rig.talking_call()
    assert rig.pbx.last("originate")["survey"] is True
    await rig.o.set_agent_state(CAROL.agent_id, AgentState.READY)
    rig.o.handle(
        ev.CallArrived(PBX, "pbx1-2.0", "Local/200@x;2", "u2", "+1555", "", "support", "", 1005.0)
    )
    await rig.o.settle()
    offer = rig.pbx.last("originate")
    assert offer["agent_target"] == CAROL.dial_string and offer["survey"] is False


async def test_the_agent_is_free_while_the_caller_scores_and_the_score_is_stored(
    rig: Rig,
) -> None:
    call_id, leg = await rig.talking_call()
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, leg, ALICE.dial_string, 1030.0))
    await rig.o.settle()
    assert rig.state(ALICE) is AgentState.READY, "the survey is not the agent's time"
    assert "hangup_caller" not in rig.pbx.names(), "the dialplan takes the caller on"
    assert rig.records.named("call_ended") == []

    rig.o.handle(ev.SurveyAnswered(PBX, LINKEDID, 4, 1036.0))
    rig.o.handle(ev.CallerHungUp(PBX, LINKEDID, "talking", 1037.0))
    rig.o.handle(ev.CallEnded(PBX, LINKEDID, "agent", 1037.0))
    await rig.o.settle()
    assert rig.records.named("survey_answered") == [(call_id, 4)]
    assert (call_id, "survey_answered", {"score": 4}) in rig.records.named("call_event")
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "agent")]


async def test_a_score_for_a_call_nobody_answered_is_not_stored(rig: Rig) -> None:
    rig.o.handle(ev.CallArrived(PBX, LINKEDID, CALLER, "u1", "+1555", "", "sales", "", 1000.0))
    rig.o.handle(ev.SurveyAnswered(PBX, LINKEDID, 5, 1001.0))
    rig.o.handle(ev.SurveyAnswered(PBX, "pbx1-unknown", 5, 1001.0))
    await rig.o.settle()
    assert rig.records.named("survey_answered") == []


async def test_a_caller_left_alone_in_its_conference_is_sent_to_the_survey(rig: Rig) -> None:
    call_id, leg = await rig.talking_call()
    await rig.o.conference(call_id, ALICE.agent_id, TransferTarget("number", number="+14155550199"))
    await rig.o.cancel_party(call_id, ALICE.agent_id)
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, leg, ALICE.dial_string, 1040.0))
    await rig.o.settle()
    assert rig.pbx.names()[-1] == "redirect:survey"
    assert rig.pbx.last("redirect:survey")["caller_channel"] == CALLER
    assert "hangup_caller" not in rig.pbx.names()


async def test_a_refused_survey_redirect_hangs_the_lone_caller_up(rig: Rig) -> None:
    call_id, leg = await rig.talking_call()
    await rig.o.conference(call_id, ALICE.agent_id, TransferTarget("number", number="+14155550199"))
    await rig.o.cancel_party(call_id, ALICE.agent_id)
    rig.pbx.refuse.add("redirect:survey")
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, leg, ALICE.dial_string, 1040.0))
    await rig.o.settle()
    assert rig.pbx.last("hangup_caller") == {"caller_channel": CALLER}
