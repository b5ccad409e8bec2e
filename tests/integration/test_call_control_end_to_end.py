"""Agents' call control through the whole service over real TCP: the REST API,
the orchestrator, the AMI link and the PBX simulator. What is asserted is what the
people on the call would notice (who talks with whom, who is on hold, who is
rung) and what the history keeps: one record per call, each agent credited with
their own part of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from agents import AgentState
from callcenter.db.models import CallRecord
from callcenter.db.records import call_events, get_call, leg_credit
from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.ports import TransferTarget
from tests.integration.test_offer_outcomes import Desk, running_desk, wait_for

TALK_S = 600.0


@pytest.fixture
async def desk(seeded_db_url: str) -> AsyncIterator[Desk]:
    async with running_desk(seeded_db_url) as running:
        yield running


async def talking(desk: Desk, number: str) -> tuple[str, str]:
    """The first agent answers a call that would last ten minutes; returns the
    call's Linkedid and id."""
    await desk.ready(desk.first)
    linkedid = desk.call(number, talk_s=TALK_S)
    await desk.becomes(desk.first, AgentState.ON_CALL)
    call_id = desk.runtime.orchestrator.agent_view(desk.first.agent_id).call_id
    assert call_id is not None
    return linkedid, call_id


def caller_bridged_with(desk: Desk, linkedid: str) -> set[str]:
    """Names of the channels in the same bridge as the caller's waiting half."""
    pbx = desk.runtime.simulator._pbx
    caller = pbx.calls[linkedid].two
    if caller.bridge_id is None:
        return set()
    return {
        ch.name
        for ch in pbx.channels.live()
        if ch.bridge_id == caller.bridge_id and ch is not caller
    }


async def test_hold_and_resume_keep_both_sides_up_and_count_the_hold(desk: Desk) -> None:
    linkedid, call_id = await talking(desk, "+4930100001")
    o = desk.runtime.orchestrator
    view = await o.hold(call_id, desk.first.agent_id)
    assert view["on_hold"] and view["in_conference"]

    async def caller_alone() -> bool:
        return caller_bridged_with(desk, linkedid) == set()

    await wait_for(caller_alone)
    assert desk.state(desk.first)[0] is AgentState.ON_CALL, "the agent stays on the call"
    view = await o.resume(call_id, desk.first.agent_id)

    async def together_again() -> bool:
        return len(caller_bridged_with(desk, linkedid)) >= 1

    await wait_for(together_again)
    await o.hang_up(call_id, desk.first.agent_id)
    record = await desk.ended(linkedid)
    assert record.outcome == "answered" and record.ended_by == "agent"
    kinds = [e.kind for e in await call_events(desk.sessions, call_id)]
    assert kinds.index("moved_to_conference") < kinds.index("hold") < kinds.index("resume")
    assert kinds[-1] == "ended"


async def test_an_attended_transfer_hands_the_caller_over_and_credits_each_agent(
    desk: Desk,
) -> None:
    linkedid, call_id = await talking(desk, "+4930100002")
    o = desk.runtime.orchestrator
    await desk.ready(desk.second)
    await o.transfer(
        call_id,
        desk.first.agent_id,
        TransferTarget("agent", agent_id=desk.second.agent_id),
        attended=True,
        note="wants the annual plan",
    )
    await desk.becomes(desk.second, AgentState.ON_CALL)
    await o.complete_transfer(call_id, desk.first.agent_id)
    await desk.becomes(desk.first, AgentState.READY)  # sales wraps up in 0 s here
    assert desk.state(desk.second)[0] is AgentState.ON_CALL

    async def second_talks_with_caller() -> bool:
        return len(caller_bridged_with(desk, linkedid)) >= 1

    await wait_for(second_talks_with_caller)
    desk.runtime.simulator.hangup_caller(linkedid)
    record = await desk.ended(linkedid)
    assert record.outcome == "answered"
    assert record.agent_id == desk.first.agent_id, "the record keeps who answered first"
    await o.settle()
    credit = await leg_credit(desk.sessions, call_id)
    assert [(c.agent_id, c.kind) for c in credit] == [
        (desk.first.agent_id, "offer"),
        (desk.second.agent_id, "consult"),
    ]
    assert all(c.talk_s > 0 for c in credit)
    async with desk.sessions() as session:
        count = len((await session.scalars(select(CallRecord))).all())
    assert count == 1, "one record for the whole call"
    view = await get_call(desk.sessions, call_id)
    assert view is not None and view.hold_s > 0


async def test_a_blind_transfer_to_a_queue_offers_the_call_again_at_its_place(
    desk: Desk,
) -> None:
    linkedid, call_id = await talking(desk, "+4930100003")
    await desk.ready(desk.second)
    await desk.runtime.orchestrator.transfer(
        call_id, desk.first.agent_id, TransferTarget("queue", queue="sales"), attended=False
    )
    await desk.becomes(desk.second, AgentState.ON_CALL)
    await desk.becomes(desk.first, AgentState.READY)
    desk.runtime.simulator.hangup_caller(linkedid)
    record = await desk.ended(linkedid)
    assert (record.outcome, record.agent_id) == ("answered", desk.first.agent_id)
    offers = await desk.offers(record)
    assert offers == [(desk.first.agent_id, "answered"), (desk.second.agent_id, "answered")]


async def test_a_conference_with_an_outside_number_then_the_agent_leaves_them(
    desk: Desk,
) -> None:
    linkedid, call_id = await talking(desk, "+4930100004")
    o = desk.runtime.orchestrator
    desk.runtime.simulator.set_outside_behaviour(PhoneBehaviour(answer_after_s=0.1))
    await o.conference(call_id, desk.first.agent_id, TransferTarget("number", number="+4930999999"))

    async def three_way() -> bool:
        view = o.call_control_view(o._calls[call_id])
        return bool(view["party"] and view["party"]["status"] == "talking")

    await wait_for(three_way)
    await o.complete_transfer(call_id, desk.first.agent_id)
    await desk.becomes(desk.first, AgentState.READY)
    desk.runtime.simulator.hangup_caller(linkedid)
    record = await desk.ended(linkedid)
    assert record.outcome == "answered"
    credit = await leg_credit(desk.sessions, call_id)
    assert [c.kind for c in credit] == ["offer", "conference"]
    assert credit[1].agent_id is None, "the outside party is nobody's credit"


async def test_call_control_over_rest_is_for_the_agent_on_the_call_only(desk: Desk) -> None:
    _, call_id = await talking(desk, "+4930100005")
    transport = httpx.ASGITransport(app=desk.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await log_in(client, desk.second.login)
        refused = await client.post(f"/api/calls/{call_id}/hold")
        assert refused.status_code == 403
        assert refused.json()["detail"]["reason"] == "not_your_call"
        await client.post("/api/logout")
        await log_in(client, desk.first.login)
        held = await client.post(f"/api/calls/{call_id}/hold")
        assert held.status_code == 200 and held.json()["on_hold"] is True
        again = await client.post(f"/api/calls/{call_id}/hold")
        assert again.status_code == 409 and again.json()["detail"]["reason"] == "wrong_phase"
        hung_up = await client.post(f"/api/calls/{call_id}/hangup")
        assert hung_up.status_code == 200


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    """Demo users are named after their agent's login, with the demo password."""
    response = await client.post("/api/login", json={"username": username, "password": "password"})
    assert response.status_code == 200, response.text
