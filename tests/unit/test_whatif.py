"""What-if replays: hand-built traffic with figures worked out by hand."""

from __future__ import annotations

from routing.rules import BullseyeStep, QueueRule, RoutingRules
from routing.whatif import PastCall, PastShift, compare, simulate

T0 = 1_000_000.0


def _rules(**queue: object) -> RoutingRules:
    return RoutingRules(
        queues=[QueueRule(name="support", skills={"support": 2}, service_level_s=30.0, **queue)]  # type: ignore[arg-type]
    )


def _agent(
    agent_id: int, proficiency: int = 3, *, start: float = T0, end: float = T0 + 3600
) -> PastShift:
    return PastShift(agent_id, {"support": proficiency}, "on_site", start, end)


def test_one_agent_takes_two_simultaneous_calls_one_after_the_other() -> None:
    calls = [
        PastCall("a", "support", T0 + 10, handle_s=60.0),
        PastCall("b", "support", T0 + 10, handle_s=60.0),
    ]
    figures = simulate(_rules(), calls, [_agent(1)])
    support = figures.queues["support"]
    assert (support.calls, support.answered, support.abandoned) == (2, 2, 0)
    # waits 0 and 60: one within the 30 s threshold
    assert support.avg_wait_s == 30.0
    assert support.service_level == 0.5
    assert support.abandon_rate == 0.0


def test_a_caller_hangs_up_after_their_recorded_patience() -> None:
    calls = [
        PastCall("a", "support", T0 + 10, handle_s=60.0),
        PastCall("b", "support", T0 + 10, patience_s=30.0),
    ]
    support = simulate(_rules(), calls, [_agent(1)]).queues["support"]
    assert (support.answered, support.abandoned) == (1, 1)
    assert support.abandon_rate == 0.5


def test_a_second_qualified_agent_in_the_draft_serves_everyone_at_once() -> None:
    calls = [
        PastCall("a", "support", T0 + 10, handle_s=60.0),
        PastCall("b", "support", T0 + 10, handle_s=60.0),
    ]
    shifts = [_agent(1), _agent(2, proficiency=1)]
    # Live: agent 2 (proficiency 1) is not admitted. Draft: a step after 5 s
    # relaxes the minimum to 1, so agent 2 takes the second call at t+15.
    draft = _rules(steps=[BullseyeStep(after_s=5.0, min_proficiency=1)])
    result = compare(_rules(), draft, calls, shifts)
    assert result["calls"] == 2 and result["agents"] == 2
    assert result["live"]["queues"]["support"]["service_level"] == 0.5
    assert result["draft"]["queues"]["support"]["service_level"] == 1.0
    assert result["draft"]["queues"]["support"]["avg_wait_s"] == 2.5


def test_a_queue_the_draft_removed_counts_its_calls_as_unrouted() -> None:
    calls = [PastCall("a", "billing", T0 + 10, handle_s=60.0)]
    billing = simulate(_rules(), calls, [_agent(1)]).queues["billing"]
    assert (billing.calls, billing.unrouted, billing.answered) == (1, 1, 0)


def test_occupancy_counts_handle_and_wrap_up_over_logged_in_time() -> None:
    calls = [PastCall("a", "support", T0 + 100, handle_s=300.0)]
    figures = simulate(_rules(wrap_up_s=60.0), calls, [_agent(1, end=T0 + 3600)])
    assert figures.overall.occupancy == 360.0 / 3600.0


def test_nobody_logged_in_leaves_the_call_unanswered() -> None:
    calls = [PastCall("a", "support", T0 + 10, handle_s=60.0)]
    support = simulate(_rules(), calls, [_agent(1, start=T0 + 100, end=T0 + 200)]).queues["support"]
    assert support.answered == 1
    assert support.avg_wait_s == 90.0
    late = simulate(_rules(), [PastCall("b", "support", T0 + 500)], [_agent(1, end=T0 + 200)])
    assert late.queues["support"].unanswered == 1
    assert late.overall.occupancy == 0.0


def test_a_never_answered_call_uses_its_queues_median_handle_time() -> None:
    calls = [
        PastCall("a", "support", T0, handle_s=100.0),
        PastCall("b", "support", T0 + 1, patience_s=1000.0),
        PastCall("c", "support", T0 + 2, handle_s=10.0),
    ]
    figures = simulate(_rules(), calls, [_agent(1)])
    # a: 0..100, b (median of 100 and 10 = 55): 100..155, c waits 153
    assert figures.queues["support"].avg_wait_s == (0 + 99 + 153) / 3


def test_the_same_input_gives_the_same_figures() -> None:
    calls = [PastCall(f"c{i}", "support", T0 + i * 7, handle_s=40.0 + i) for i in range(50)]
    shifts = [_agent(1), _agent(2), _agent(3, proficiency=2)]
    assert simulate(_rules(), calls, shifts) == simulate(_rules(), list(reversed(calls)), shifts)
