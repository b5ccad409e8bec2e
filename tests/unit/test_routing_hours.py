"""Opening hours: read in the queue's own time zone (summer time included), public
holidays and company closed days; a caller arriving while closed gets the closed
action, with the reason in the explanation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from routing import (
    AgentFacts,
    Closed,
    Hours,
    Offer,
    QueueRule,
    Router,
    RoutingRules,
    Target,
    WaitingCall,
)

WEEKDAYS_9_TO_5 = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def desk(**hours: Any) -> RoutingRules:
    return RoutingRules(queues=[QueueRule(name="desk", skills={"desk": 1}, hours=Hours(**hours))])


def arrive(rules: RoutingRules, when: float) -> tuple[Router, Closed | None]:
    """A caller arrives at ``when``: the router, and its Closed decision if any."""
    router = Router(rules)
    decisions = router.call_arrived(WaitingCall("c1", "desk", when), now=when).decisions
    closed = [d for d in decisions if isinstance(d, Closed)]
    assert len(closed) <= 1
    if closed:
        assert "c1" not in router.waiting
        return router, closed[0]
    assert "c1" in router.waiting
    return router, None


def is_open(when: float, **hours: Any) -> bool:
    return arrive(desk(**hours), when)[1] is None


def closed_reason(when: float, **hours: Any) -> str:
    closed = arrive(desk(**hours), when)[1]
    assert closed is not None, "expected the queue to be closed"
    return closed.explanation.notes[0]


BERLIN = {"timezone": "Europe/Berlin", "weekly": WEEKDAYS_9_TO_5}


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # winter (CET, UTC+1): 09:00-17:00 Berlin is 08:00-16:00 UTC
        (utc(2025, 1, 15, 7, 59), False),
        (utc(2025, 1, 15, 8, 0), True),
        (utc(2025, 1, 15, 8, 30), True),
        (utc(2025, 1, 15, 15, 59), True),
        (utc(2025, 1, 15, 16, 0), False),
        # summer (CEST, UTC+2): 07:00-15:00 UTC
        (utc(2025, 7, 16, 6, 59), False),
        (utc(2025, 7, 16, 7, 0), True),
        (utc(2025, 7, 16, 14, 59), True),
        (utc(2025, 7, 16, 15, 30), False),
    ],
)
def test_berlin_queue_opens_at_nine_berlin_time(when: float, expected: bool) -> None:
    assert is_open(when, **BERLIN) is expected


def test_same_utc_time_is_closed_before_and_open_after_the_spring_change() -> None:
    # Berlin moves to summer time on Sunday 2025-03-30: 07:30 UTC is 08:30 on
    # the Friday before and 09:30 on the Monday after
    assert not is_open(utc(2025, 3, 28, 7, 30), **BERLIN)
    assert is_open(utc(2025, 3, 31, 7, 30), **BERLIN)


def test_same_utc_time_is_open_before_and_closed_after_the_autumn_change() -> None:
    # back to winter time on Sunday 2025-10-26: 15:30 UTC is 17:30 on the Friday
    # before (closed) and 16:30 on the Monday after (open)
    assert not is_open(utc(2025, 10, 24, 15, 30), **BERLIN)
    assert is_open(utc(2025, 10, 27, 15, 30), **BERLIN)


def test_new_york_queue_follows_new_york_time() -> None:
    hours = {"timezone": "America/New_York", "weekly": WEEKDAYS_9_TO_5}
    assert not is_open(utc(2025, 1, 15, 13, 30), **hours)  # 08:30 EST
    assert is_open(utc(2025, 1, 15, 14, 30), **hours)  # 09:30 EST


def test_weekday_is_the_local_one_not_the_utc_one() -> None:
    # Tuesday 03:00 UTC is still Monday evening in Los Angeles
    hours = {"timezone": "America/Los_Angeles", "weekly": {"mon": ["00:00-24:00"]}}
    assert is_open(utc(2025, 1, 14, 3, 0), **hours)
    assert not is_open(utc(2025, 1, 14, 9, 0), **hours)  # Tuesday 01:00 there


def test_day_left_out_is_closed_all_day_and_says_so() -> None:
    reason = closed_reason(utc(2025, 1, 18, 11, 0), **BERLIN)  # a Saturday
    assert reason == "outside hours (sat closed all day, Europe/Berlin)"


def test_outside_hours_reason_names_the_days_spans() -> None:
    reason = closed_reason(utc(2025, 1, 15, 18, 0), **BERLIN)
    assert reason == "outside hours (wed 09:00-17:00, Europe/Berlin)"


def test_lunch_break_between_two_spans_is_closed() -> None:
    hours = {"weekly": {"wed": ["09:00-12:00", "13:00-17:00"]}}
    assert is_open(utc(2025, 1, 15, 11, 59), **hours)
    assert not is_open(utc(2025, 1, 15, 12, 30), **hours)
    assert is_open(utc(2025, 1, 15, 13, 0), **hours)


def test_us_independence_day_is_closed() -> None:
    hours = {"timezone": "America/New_York", "weekly": WEEKDAYS_9_TO_5, "holidays_country": "US"}
    # Friday 2025-07-04, 11:00 in New York
    assert closed_reason(utc(2025, 7, 4, 15, 0), **hours) == "public holiday: Independence Day"
    assert is_open(utc(2025, 7, 3, 15, 0), **hours)


def test_holiday_is_judged_by_the_local_date() -> None:
    hours = {"timezone": "America/Los_Angeles", "weekly": ALL_DAY, "holidays_country": "US"}
    # 02:00 UTC on July 5th is still July 4th (19:00) in Los Angeles
    assert closed_reason(utc(2025, 7, 5, 2, 0), **hours) == "public holiday: Independence Day"
    assert is_open(utc(2025, 7, 5, 8, 0), **hours)  # 01:00 on the 5th there


def test_german_christmas_is_closed_but_christmas_eve_is_a_working_day() -> None:
    hours = {**BERLIN, "holidays_country": "DE"}
    assert closed_reason(utc(2025, 12, 25, 10, 0), **hours) == "public holiday: Christmas Day"
    assert is_open(utc(2025, 12, 24, 10, 0), **hours)


def test_regional_holiday_needs_the_subdivision() -> None:
    # Epiphany (Monday 2025-01-06) is a holiday in Bavaria, not in all of Germany
    when = utc(2025, 1, 6, 10, 0)
    assert is_open(when, **BERLIN, holidays_country="DE")
    reason = closed_reason(when, **BERLIN, holidays_country="DE", holidays_subdivision="BY")
    assert reason == "public holiday: Epiphany"


def test_company_closed_date_is_closed() -> None:
    hours = {**BERLIN, "closed_dates": [date(2025, 12, 24)]}
    assert closed_reason(utc(2025, 12, 24, 10, 0), **hours) == "closed on 2025-12-24"
    assert is_open(utc(2025, 12, 23, 10, 0), **hours)


def test_closing_at_24_00_stays_open_until_midnight() -> None:
    hours = {"weekly": {"wed": ["18:00-24:00"]}}
    assert not is_open(utc(2025, 1, 15, 17, 59, 59), **hours)
    assert is_open(utc(2025, 1, 15, 23, 59, 59), **hours)
    assert not is_open(utc(2025, 1, 16, 0, 0), **hours)  # Thursday: not in the week


def test_closed_caller_gets_the_default_voicemail_with_the_reason_explained() -> None:
    _, closed = arrive(desk(**BERLIN), utc(2025, 1, 18, 11, 0))
    assert closed is not None
    assert (closed.call_id, closed.queue, closed.action) == ("c1", "desk", Target(kind="voicemail"))
    explanation = closed.explanation
    assert explanation.trigger == "closed"
    assert explanation.notes == (
        "outside hours (sat closed all day, Europe/Berlin)",
        "closed action: voicemail",
    )
    assert "outside hours (sat closed all day" in explanation.summary()


def test_closed_caller_gets_the_queues_closed_action() -> None:
    rules = RoutingRules(
        queues=[
            QueueRule(
                name="desk",
                skills={"desk": 1},
                hours=Hours(**BERLIN),
                closed_action=Target(kind="callback"),
            )
        ]
    )
    _, closed = arrive(rules, utc(2025, 1, 18, 11, 0))
    assert closed is not None
    assert closed.action == Target(kind="callback")
    assert closed.explanation.notes[-1] == "closed action: callback"


def two_desks() -> RoutingRules:
    return RoutingRules(
        queues=[
            QueueRule(
                name="desk",
                skills={"desk": 1},
                hours=Hours(**BERLIN),
                closed_action=Target.model_validate("queue:night"),
            ),
            QueueRule(name="night", skills={"night": 1}),
        ]
    )


def test_closed_action_queue_moves_the_caller_to_that_queue() -> None:
    router = Router(two_desks())
    saturday = utc(2025, 1, 18, 11, 0)
    router.agent_available(AgentFacts(9, {"night": 1}), now=saturday - 60)
    decisions = router.call_arrived(WaitingCall("c1", "desk", saturday), now=saturday).decisions
    assert len(decisions) == 2
    closed, offer = decisions
    assert isinstance(closed, Closed)
    assert closed.action == Target(kind="queue", queue="night")
    assert isinstance(offer, Offer)
    assert (offer.call_id, offer.agent_id, offer.queue) == ("c1", 9, "night")


def test_caller_moved_by_the_closed_action_waits_in_the_other_queue() -> None:
    router = Router(two_desks())
    saturday = utc(2025, 1, 18, 11, 0)
    router.call_arrived(WaitingCall("c1", "desk", saturday), now=saturday)
    assert router.waiting["c1"].queue == "night"
    # a desk agent cannot take it; a night agent can
    assert router.agent_available(AgentFacts(1, {"desk": 5}), now=saturday + 5).decisions == ()
    offers = router.agent_available(AgentFacts(2, {"night": 1}), now=saturday + 6).offers
    assert [(o.call_id, o.agent_id) for o in offers] == [("c1", 2)]


def test_open_queue_keeps_the_caller_in_it() -> None:
    router = Router(two_desks())
    monday = utc(2025, 1, 13, 10, 0)
    assert router.call_arrived(WaitingCall("c1", "desk", monday), now=monday).decisions == ()
    assert router.waiting["c1"].queue == "desk"


def test_caller_already_waiting_at_closing_time_stays_and_is_served() -> None:
    router = Router(desk(**BERLIN))
    before_close = utc(2025, 1, 15, 15, 59)  # 16:59 in Berlin
    router.call_arrived(WaitingCall("c1", "desk", before_close), now=before_close)
    after_close = utc(2025, 1, 15, 16, 10)
    assert router.tick(after_close).decisions == ()
    offers = router.agent_available(AgentFacts(1, {"desk": 1}), now=after_close).offers
    assert [(o.call_id, o.agent_id) for o in offers] == [("c1", 1)]
