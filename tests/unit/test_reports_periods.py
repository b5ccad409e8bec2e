"""Periods: sliding windows and local days in the center's zone, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from callcenter.reports import Period, day_so_far, local_day, local_days, local_hours

PARIS = "Europe/Paris"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_day_so_far_starts_at_local_midnight() -> None:
    # 2026-03-02 is in winter time (UTC+1): midnight is 23:00 UTC the day before
    assert day_so_far(utc(2026, 3, 2, 12), PARIS) == Period(
        utc(2026, 3, 1, 23), utc(2026, 3, 2, 12)
    )
    # 00:30 UTC on 2 March is already 01:30 on 2 March in Paris
    assert day_so_far(utc(2026, 3, 2, 0, 30), PARIS).start == utc(2026, 3, 1, 23)
    # 23:30 UTC on 2 March is 00:30 on 3 March in Paris
    assert day_so_far(utc(2026, 3, 2, 23, 30), PARIS).start == utc(2026, 3, 2, 23)


def test_dst_days_last_23_and_25_hours() -> None:
    spring = local_day(date(2026, 3, 29), PARIS)  # clocks go 02:00 -> 03:00
    assert spring == Period(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert spring.duration_s == 23 * 3600
    autumn = local_day(date(2026, 10, 25), PARIS)  # clocks go 03:00 -> 02:00
    assert autumn == Period(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    assert autumn.duration_s == 25 * 3600
    # in summer time midnight is 22:00 UTC
    assert day_so_far(utc(2026, 3, 29, 12), PARIS).start == utc(2026, 3, 28, 23)
    assert day_so_far(utc(2026, 3, 30, 12), PARIS).start == utc(2026, 3, 29, 22)


def test_local_hours_of_dst_days() -> None:
    spring = local_hours(local_day(date(2026, 3, 29), PARIS), PARIS)
    assert len(spring) == 23 and all(hour.hour != 2 for hour in spring)
    autumn = local_hours(local_day(date(2026, 10, 25), PARIS), PARIS)
    assert len(autumn) == 24  # the repeated 02:00 once
    assert [hour.hour for hour in autumn] == list(range(24))


def test_periods_are_half_open() -> None:
    period = Period(utc(2026, 3, 2), utc(2026, 3, 3))
    assert utc(2026, 3, 2) in period
    assert utc(2026, 3, 3) not in period
    assert local_days(period, "UTC") == [date(2026, 3, 2)]


def test_periods_refuse_naive_or_reversed_instants() -> None:
    with pytest.raises(ValueError):
        Period(datetime(2026, 3, 2), datetime(2026, 3, 3))
    with pytest.raises(ValueError):
        Period(utc(2026, 3, 3), utc(2026, 3, 2))
