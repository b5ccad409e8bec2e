"""Historical rows by hour, day, queue and agent; gaps filled, local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from callcenter.reports import (
    CallFact,
    Period,
    ReportPolicy,
    day_so_far,
    historical,
    local_day,
)

PARIS = "Europe/Paris"


def answered(
    call_id: str, answer: datetime, wait_s: float = 10, queue: str = "support", agent: int = 1
) -> CallFact:
    return CallFact(
        call_id,
        queue,
        answer - timedelta(seconds=wait_s),
        "answered",
        answered_at=answer,
        ended_at=answer + timedelta(seconds=60),
        agent_id=agent,
    )


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_hour_rows_include_empty_hours() -> None:
    # 09:00-12:00 Paris (UTC+1) = 08:00-11:00 UTC; no call in the 10:00 hour
    period = Period(utc(2026, 3, 2, 8), utc(2026, 3, 2, 11))
    calls = [answered("a", utc(2026, 3, 2, 8, 5)), answered("b", utc(2026, 3, 2, 10, 59))]
    rows = historical(calls, period, ReportPolicy(), group_by="hour", tz=PARIS)
    assert [(row.key, row.figures.answered) for row in rows] == [
        ("2026-03-02T09:00", 1),
        ("2026-03-02T10:00", 0),
        ("2026-03-02T11:00", 1),
    ]
    assert rows[1].figures.service_level is None


def test_call_crossing_local_midnight_counts_on_the_day_it_was_answered() -> None:
    # enqueued 23:59:50 Paris on 2 March, answered 00:00:10 on 3 March
    call = answered("late", utc(2026, 3, 2, 23, 0, 10), wait_s=20)
    abandon = CallFact(
        "gone",
        "support",
        utc(2026, 3, 2, 22, 59, 0),  # 23:59 Paris on the 2nd
        "abandoned",
        ended_at=utc(2026, 3, 2, 23, 0, 30),  # 00:00:30 on the 3rd
    )
    period = Period(
        local_day(date(2026, 3, 2), PARIS).start, local_day(date(2026, 3, 3), PARIS).end
    )
    rows = historical([call, abandon], period, ReportPolicy(), group_by="day", tz=PARIS)
    assert [(row.key, row.figures.answered, row.figures.abandoned) for row in rows] == [
        ("2026-03-02", 0, 0),
        ("2026-03-03", 1, 1),
    ]
    # and the day so far on the 3rd, a minute after midnight, has both
    today = day_so_far(utc(2026, 3, 2, 23, 1), PARIS)
    rows = historical([call, abandon], today, ReportPolicy(), group_by="day", tz=PARIS)
    assert [(row.key, row.figures.offered) for row in rows] == [("2026-03-03", 2)]


def test_hours_of_the_autumn_dst_day() -> None:
    day = local_day(date(2026, 10, 25), PARIS)
    # 02:30 Paris happens twice: 00:30 UTC (summer time) and 01:30 UTC (winter)
    calls = [
        answered("first", utc(2026, 10, 25, 0, 30)),
        answered("again", utc(2026, 10, 25, 1, 30)),
    ]
    rows = historical(calls, day, ReportPolicy(), group_by="hour", tz=PARIS)
    assert len(rows) == 24
    assert [row.figures.answered for row in rows if row.key == "2026-10-25T02:00"] == [2]


def test_hours_of_the_spring_dst_day() -> None:
    day = local_day(date(2026, 3, 29), PARIS)
    # 01:30 UTC is 03:30 summer time: the 02:00 hour never happens
    rows = historical(
        [answered("x", utc(2026, 3, 29, 1, 30))], day, ReportPolicy(), group_by="hour", tz=PARIS
    )
    keys = [row.key for row in rows]
    assert len(keys) == 23 and "2026-03-29T02:00" not in keys
    assert [row.figures.answered for row in rows if row.key == "2026-03-29T03:00"] == [1]


def test_queue_and_agent_rows() -> None:
    period = Period(utc(2026, 3, 2, 8), utc(2026, 3, 2, 11))
    calls = [
        answered("a", utc(2026, 3, 2, 9), queue="sales", agent=10),
        answered("b", utc(2026, 3, 2, 9), wait_s=30, queue="support", agent=9),
        answered("c", utc(2026, 3, 2, 9), queue="support", agent=9),
        CallFact("d", "support", utc(2026, 3, 2, 9), "abandoned", ended_at=utc(2026, 3, 2, 9, 1)),
    ]
    by_queue = historical(calls, period, ReportPolicy(), group_by="queue", tz=PARIS)
    assert [(row.key, row.figures.offered, row.figures.service_level) for row in by_queue] == [
        ("sales", 1, 1.0),
        ("support", 3, 0.5),
    ]
    by_agent = historical(calls, period, ReportPolicy(), group_by="agent", tz=PARIS)
    # numeric order (9 before 10); the abandon has no agent
    assert [(row.key, row.figures.answered) for row in by_agent] == [("9", 2), ("10", 1)]
