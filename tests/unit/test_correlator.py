"""ActionID correlation and EventList collection, on real Asterisk 22 captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.ami.codec import AmiCodec
from callcenter.ami.correlator import CONSUMED, ActionResult, PendingActions
from callcenter.ami.message import Message
from callcenter.replay import read_actions, split_connections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def _run(capture: str, connection: int = 1) -> tuple[dict[str, ActionResult], list[Message]]:
    """Feed a capture's connection through PendingActions expecting every action the
    client sent; return the results by ActionID and the messages passed through."""
    path = FIXTURES / capture
    pending = PendingActions()
    for sent in read_actions(path.with_suffix(".actions")):
        if sent.connection == connection and sent.message.action_id:
            pending.expect(sent.message.action_id)
    stream = split_connections(path.read_bytes())[connection - 1]
    results: dict[str, ActionResult] = {}
    passed: list[Message] = []
    for frame in AmiCodec().feed(stream):
        if not isinstance(frame, Message):
            continue
        outcome = pending.feed(frame)
        if isinstance(outcome, ActionResult):
            results[outcome.action_id] = outcome
        elif outcome is None:
            passed.append(frame)
    assert len(pending) == 0, "every action of the capture was answered"
    return results, passed


def test_core_show_channels_collects_exactly_the_listed_items() -> None:
    results, _ = _run("10-resync-snapshot.ami")
    snapshot = results["cc-5"]
    assert snapshot.ok
    assert snapshot.complete is not None
    assert snapshot.complete.event == "CoreShowChannelsComplete"
    assert len(snapshot.events) == int(snapshot.complete["ListItems"]) == 10
    assert {e.event for e in snapshot.events} == {"CoreShowChannel"}
    assert "agentleg-c0010-1" in {e["Uniqueid"] for e in snapshot.events}


def test_status_list_is_kept_apart_from_the_channels_list() -> None:
    results, _ = _run("10-resync-snapshot.ami")
    status = results["cc-6"]
    assert status.complete is not None and status.complete.event == "StatusComplete"
    assert len(status.events) == int(status.complete["ListItems"]) == 8
    assert all(e.action_id == "cc-6" for e in status.events)


def test_list_items_do_not_leak_out_as_ordinary_events() -> None:
    _, passed = _run("10-resync-snapshot.ami")
    leaked = [m for m in passed if m.event in ("CoreShowChannel", "Status") or m.get("EventList")]
    assert leaked == []
    assert any(m.event == "Hangup" for m in passed)


def test_a_hangup_by_pattern_is_an_event_list_too() -> None:
    results, _ = _run("05-abandon-ringing.ami")
    hung_up = results["cc-5"]
    assert [e["Channel"] for e in hung_up.events] == ["Local/2001@agent-sim-00000009;1"]


def test_errors_complete_their_action_with_is_error() -> None:
    first, _ = _run("11-errors.ami", connection=1)
    assert first["cc-1"].is_error and not first["cc-1"].ok
    assert first["cc-1"].message == "Authentication failed"
    second, _ = _run("11-errors.ami", connection=2)
    assert second["cc-1"].ok
    errors = {aid: r.message for aid, r in second.items() if r.is_error}
    assert errors == {
        "cc-2": "Channel not specified",
        "cc-3": "Invalid/unknown command: NoSuchAction. "
        "Use Action: ListCommands to show available commands.",
        "cc-4": "No such channel",
        "cc-5": "Channel does not exist: Local/none",
    }


def test_originate_response_passes_through_after_its_response_completed() -> None:
    results, passed = _run("01-happy-path.ami")
    assert results["cc-3"].ok and results["cc-3"].events == ()
    originate_responses = [m for m in passed if m.event == "OriginateResponse"]
    assert [m.action_id for m in originate_responses] == ["cc-2", "cc-3"]


def test_a_response_nobody_waits_for_is_not_swallowed_as_a_result() -> None:
    pending = PendingActions()
    late = Message.build(Response="Success", ActionID="gone-1")
    assert pending.feed(late) is None


def test_list_start_is_consumed_and_items_wait_for_complete() -> None:
    pending = PendingActions()
    pending.expect("a1")
    start = Message.build(Response="Success", ActionID="a1", EventList="start")
    item = Message.build(Event="CoreShowChannel", ActionID="a1", Uniqueid="u1")
    done = Message.build(
        Event="CoreShowChannelsComplete", ActionID="a1", EventList="Complete", ListItems="1"
    )
    assert pending.feed(start) is CONSUMED
    assert pending.feed(item) is CONSUMED
    result = pending.feed(done)
    assert isinstance(result, ActionResult)
    assert result.events == (item,)
    assert "a1" not in pending


def test_fail_all_drops_waiting_and_collecting_actions() -> None:
    pending = PendingActions()
    pending.expect("a1")
    pending.expect("a2")
    pending.feed(Message.build(Response="Success", ActionID="a2", EventList="start"))
    assert pending.fail_all() == ["a1", "a2"]
    assert len(pending) == 0
    # Items of the dropped list now pass through instead of completing anything.
    assert pending.feed(Message.build(Event="CoreShowChannel", ActionID="a2")) is None


def test_the_same_action_id_cannot_be_pending_twice() -> None:
    pending = PendingActions()
    pending.expect("a1")
    with pytest.raises(ValueError, match="already pending"):
        pending.expect("a1")
