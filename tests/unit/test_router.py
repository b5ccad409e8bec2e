"""The skeleton router: longest-idle skilled agent, callers first come first served."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routing import AvailableAgent, Offer, QueueRule, Router, UnknownQueue, WaitingCall

QUEUES = [QueueRule("sales", "sales"), QueueRule("support", "support", min_proficiency=3)]


def make_router() -> Router:
    return Router(QUEUES)


def test_waiting_call_goes_to_longest_idle_skilled_agent() -> None:
    router = make_router()
    router.agent_available(AvailableAgent(1, {"sales": 2}, idle_since=50.0), now=50.0)
    router.agent_available(AvailableAgent(2, {"sales": 5}, idle_since=10.0), now=50.0)
    router.agent_available(AvailableAgent(3, {"support": 5}, idle_since=1.0), now=50.0)
    assert router.call_arrived(WaitingCall("c1", "sales", 60.0), now=60.0) == [Offer("c1", 2)]


def test_agent_below_minimum_proficiency_is_not_offered() -> None:
    router = make_router()
    router.agent_available(AvailableAgent(1, {"support": 2}, idle_since=0.0), now=0.0)
    assert router.call_arrived(WaitingCall("c1", "support", 1.0), now=1.0) == []
    assert router.agent_available(AvailableAgent(2, {"support": 3}), now=2.0) == [Offer("c1", 2)]


def test_callers_are_served_first_come_first_served() -> None:
    router = make_router()
    router.call_arrived(WaitingCall("late", "sales", 20.0), now=20.0)
    router.call_arrived(WaitingCall("early", "sales", 10.0), now=20.0)
    assert router.agent_available(AvailableAgent(1, {"sales": 1}), now=30.0) == [Offer("early", 1)]


def test_caller_keeps_place_after_no_answer() -> None:
    router = make_router()
    router.call_arrived(WaitingCall("first", "sales", 10.0), now=10.0)
    router.agent_available(AvailableAgent(1, {"sales": 1}), now=11.0)
    router.call_arrived(WaitingCall("second", "sales", 12.0), now=12.0)
    # agent 1 did not answer and is no longer available; the first caller waits
    # again ahead of the second one
    assert router.offer_failed("first", now=20.0) == []
    assert router.agent_available(AvailableAgent(2, {"sales": 1}), now=21.0) == [Offer("first", 2)]


def test_abandoned_call_is_never_offered() -> None:
    router = make_router()
    router.call_arrived(WaitingCall("c1", "sales", 1.0), now=1.0)
    router.call_left("c1", now=2.0)
    assert router.agent_available(AvailableAgent(1, {"sales": 1}), now=3.0) == []


def test_unknown_queue_is_refused() -> None:
    with pytest.raises(UnknownQueue):
        make_router().call_arrived(WaitingCall("c1", "nope", 1.0), now=1.0)


@given(
    st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["sales", "support"])), max_size=12),
    st.lists(st.tuples(st.integers(0, 50), st.integers(1, 5), st.integers(1, 5)), max_size=8),
)
def test_same_inputs_give_same_decisions_and_no_agent_is_offered_twice(
    calls: list[tuple[int, str]], agents: list[tuple[int, int, int]]
) -> None:
    def run() -> list[Offer]:
        router = make_router()
        out: list[Offer] = []
        for i, (at, queue) in enumerate(calls):
            out += router.call_arrived(WaitingCall(f"c{i}", queue, float(at)), now=float(at))
        for agent_id, (idle, sales, support) in enumerate(agents):
            agent = AvailableAgent(agent_id, {"sales": sales, "support": support}, float(idle))
            out += router.agent_available(agent, now=100.0)
        return out

    first = run()
    assert first == run()
    assert len({o.agent_id for o in first}) == len(first)
    assert len({o.call_id for o in first}) == len(first)
