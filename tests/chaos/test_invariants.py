"""The chaos checks themselves can fail: fed a doubled record, a lost call, an
open offer, two overlapping rings and a stuck agent, each is reported (no
service needed; this is the checker's own test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from callcenter.ami.message import Message
from callcenter.chaos.invariants import check, pbx_truth, unseen_calls
from callcenter.chaos.summary import render
from callcenter.db.models import CallOffer, CallRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _record(linkedid: str, outcome: str | None, offers: list[CallOffer]) -> CallRecord:
    return CallRecord(
        id=f"call-{linkedid}",
        pbx="pbx1",
        linkedid=linkedid,
        queue="sales",
        caller_number="+12025550100",
        enqueued_at=T0,
        ended_at=T0 + timedelta(seconds=9) if outcome else None,
        outcome=outcome,
        offers=offers,
    )


def _offer(leg: str, start_s: int, end_s: int | None, result: str | None) -> CallOffer:
    return CallOffer(
        leg_id=leg,
        agent_target="PJSIP/agent01",
        offered_at=T0 + timedelta(seconds=start_s),
        ended_at=None if end_s is None else T0 + timedelta(seconds=end_s),
        result=result,
        kind="offer",
    )


def _frame(event: str, uniqueid: str, linkedid: str, channel: str = "") -> Message:
    return Message.build(
        ("Event", event), ("Uniqueid", uniqueid), ("Linkedid", linkedid), ("Channel", channel)
    )


def test_every_broken_invariant_is_reported() -> None:
    records = [
        _record("a", "answered", [_offer("l1", 0, 2, "no_answer"), _offer("l2", 1, 3, "answered")]),
        _record("b", "answered", []),
        _record("b", "abandoned", []),
        _record("c", None, []),
        _record("d", "teleported", [_offer("l3", 0, None, None)]),
    ]
    frames = [
        _frame("Newchannel", "agentleg-x-1", "a", "PJSIP/agent01-0001"),
        _frame("Newchannel", "agentleg-y-1", "b", "PJSIP/agent01-0002"),
        _frame("Hangup", "agentleg-x-1", "a", "PJSIP/agent01-0001"),
        _frame("Hangup", "agentleg-y-1", "b", "PJSIP/agent01-0002"),
        _frame("Newchannel", "agentleg-x-2", "a", "PJSIP/agent02-0003"),
    ]
    report = check(
        "broken",
        placed=["a", "b", "c", "d", "e"],
        records=records,
        frames=frames,
        agent_states={"agent01": "ringing", "agent02": "ready"},
        faults=1,
    )
    assert not report.ok
    assert report.duplicates == ["b"]
    assert report.lost == ["c: record never closed", "e: no record"]
    assert report.stuck_agents == ["agent01=ringing"]
    assert any("call a offered twice" in d for d in report.double_offers)
    assert any("phone PJSIP/agent01 rang two calls" in d for d in report.double_offers)
    assert any("teleported" in p for p in report.problems)
    assert any("l3 has no result" in p for p in report.problems)
    assert any("still up" in p for p in report.problems)
    assert "FAIL" in render([report])


def test_a_call_whose_whole_life_fell_in_a_down_window_is_unseen_not_lost() -> None:
    frames = [
        _frame("Newchannel", "early", "early"),
        _frame("Newchannel", "gone", "gone"),
        _frame("Hangup", "gone", "gone"),
        _frame("Hangup", "early", "early"),
    ]
    assert unseen_calls(pbx_truth(frames), [(1, 3)]) == {"gone"}
    report = check(
        "down", placed=["gone"], records=[], frames=frames, agent_states={"a": "ready"},
        faults=1, service_down=[(1, 3)],
    )  # fmt: skip
    assert report.ok and report.unseen == 1
