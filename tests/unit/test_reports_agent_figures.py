"""Agent figures: handle time from legs, time in states clipped to the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.reports import (
    CallFact,
    LegFact,
    Period,
    StateChange,
    agent_figures,
    agents_by_state,
    floor_occupancy,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = Period(T0, T0 + timedelta(hours=1))


def hm(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# Period 09:00-10:00. Given in no particular order on purpose.
CHANGES = [
    StateChange(7, "on_call", hm(9, 10)),
    StateChange(7, "ready", hm(8, 30)),  # before the period: ready from 09:00
    StateChange(7, "wrap_up", hm(9, 20)),
    StateChange(7, "ready", hm(9, 25)),
    StateChange(7, "not_ready", hm(9, 40), reason="lunch"),
    StateChange(7, "ready", hm(9, 50)),
    StateChange(7, "logged_out", hm(10, 30)),  # after the period: cut at 10:00
    StateChange(8, "logged_out", hm(8, 0)),
    StateChange(8, "ready", hm(9, 30)),
    StateChange(8, "logged_out", hm(9, 45)),
    StateChange(9, "logged_out", hm(8, 0)),  # never logged in during the period
]


def test_time_in_states_is_clipped_to_the_period() -> None:
    agent = agent_figures([], CHANGES, HOUR)[7]
    # ready 09:00-09:10, 09:25-09:40, 09:50-10:00 = 600 + 900 + 600
    assert agent.ready_s == 2100.0
    assert agent.not_ready_s == 600.0
    assert agent.not_ready_by_reason_s == {"lunch": 600.0}
    assert agent.busy_s == 900.0  # on_call 600 + wrap_up 300
    assert agent.logged_in_s == 3600.0


def test_occupancy_leaves_not_ready_time_out() -> None:
    figures = agent_figures([], CHANGES, HOUR)
    # (on_call 600 + wrap_up 300) / (3600 logged in - 600 not ready)
    assert figures[7].occupancy == 0.3
    assert figures[8].occupancy == 0.0  # ready 15 min, no call
    assert figures[8].logged_in_s == 900.0
    assert 9 not in figures  # logged out all along
    # whole floor: 900 occupied / (3000 + 900) available
    assert floor_occupancy(CHANGES, HOUR) == pytest.approx(900 / 3900)


def test_an_agent_never_available_has_no_occupancy() -> None:
    changes = [StateChange(3, "not_ready", hm(8, 0))]
    agent = agent_figures([], changes, HOUR)[3]
    assert (agent.not_ready_s, agent.occupancy) == (3600.0, None)


def test_handle_time_of_a_transferred_call_is_split_by_legs() -> None:
    call = CallFact(
        "t1",
        "support",
        at(0),
        "answered",
        answered_at=at(10),
        ended_at=at(175),
        agent_id=1,
        hold_s=5,
        wrap_up_s=15,
        csat=4,
        legs=(
            LegFact(1, "offer", at(10), at(70), held_s=5),  # 60 connected, 5 on hold
            LegFact(3, "consult", at(40), at(60)),  # agent 3 helps for 20 s
            LegFact(2, "transfer", at(75), at(175)),  # 100 connected
        ),
    )
    figures = agent_figures([call], [], HOUR)
    first, second, helper = figures[1], figures[2], figures[3]
    assert (first.handled, first.talk_s, first.hold_s, first.wrap_up_s) == (1, 55.0, 5.0, 15.0)
    assert first.aht_s == 75.0  # 55 + 5 + 15
    assert (first.csat_avg, first.csat_responses) == (4.0, 1)
    assert (second.handled, second.talk_s, second.aht_s) == (1, 100.0, 100.0)
    assert (helper.handled, helper.talk_s, helper.aht_s) == (0, 20.0, None)


def test_a_call_without_legs_is_its_answering_agents() -> None:
    call = CallFact(
        "c1",
        "support",
        at(0),
        "answered",
        answered_at=at(30),
        ended_at=at(330),
        agent_id=5,
        hold_s=60,
        wrap_up_s=40,
    )
    agent = agent_figures([call], [], HOUR)[5]
    # talk = 300 connected - 60 hold; AHT = 240 + 60 + 40
    assert (agent.handled, agent.talk_s, agent.hold_s, agent.aht_s) == (1, 240.0, 60.0, 340.0)


def test_legs_count_in_the_period_they_were_answered() -> None:
    call = CallFact(
        "late",
        "support",
        at(3500),
        "answered",
        answered_at=at(3590),
        ended_at=at(3900),  # ends after the period: still all counted in it
        agent_id=5,
    )
    outside = CallFact(
        "next", "support", at(3600), "answered", answered_at=at(3610), ended_at=at(3700), agent_id=5
    )
    agent = agent_figures([call, outside], [], HOUR)[5]
    assert (agent.handled, agent.talk_s) == (1, 310.0)


def test_agents_by_state_takes_each_agents_last_change() -> None:
    at_915 = agents_by_state(CHANGES, hm(9, 15))
    assert at_915 == {
        "logged_out": 2,  # agents 8 and 9
        "ready": 0,
        "not_ready": 0,
        "reserved": 0,
        "ringing": 0,
        "on_call": 1,  # agent 7
        "wrap_up": 0,
    }
    at_930 = agents_by_state(CHANGES, hm(9, 30))  # a change at that instant applies
    assert (at_930["ready"], at_930["logged_out"]) == (2, 1)
