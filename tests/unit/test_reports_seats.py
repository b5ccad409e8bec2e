"""Seat usage: agents logged in at once, sampled and as exact daily peaks."""

from __future__ import annotations

from datetime import UTC, date, datetime

from callcenter.reports import (
    DayPeak,
    Period,
    StateChange,
    concurrent_logged_in,
    daily_peaks,
    local_day,
)

PARIS = "Europe/Paris"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# Paris is UTC+1: local 2 March runs 1 March 23:00 UTC to 2 March 23:00 UTC.
CHANGES = [
    StateChange(1, "ready", utc(1, 22)),  # logged in before the day starts
    StateChange(1, "logged_out", utc(2, 8)),
    StateChange(2, "ready", utc(2, 7)),
    StateChange(2, "not_ready", utc(2, 7, 30)),  # still logged in
    StateChange(2, "logged_out", utc(2, 12)),
    StateChange(3, "ready", utc(2, 8)),  # the instant agent 1 leaves
    StateChange(3, "logged_out", utc(2, 9)),
    StateChange(4, "ready", utc(2, 7, 45)),
    StateChange(4, "logged_out", utc(2, 7, 50)),
    StateChange(5, "ready", utc(3, 10)),
    StateChange(5, "logged_out", utc(3, 11)),
]


def test_daily_peaks_sweep_logins_and_logouts() -> None:
    period = Period(
        local_day(date(2026, 3, 2), PARIS).start, local_day(date(2026, 3, 4), PARIS).end
    )
    # 2 March: 1 at the start, 2 at 07:00, 3 at 07:45 (agents 1, 2, 4), 2 at
    # 07:50; at 08:00 agent 3 takes agent 1's place: still 2, not 3.
    assert daily_peaks(CHANGES, period, PARIS) == [
        DayPeak(date(2026, 3, 2), 3, utc(2, 7, 45)),
        DayPeak(date(2026, 3, 3), 1, utc(3, 10)),
        DayPeak(date(2026, 3, 4), 0, None),
    ]


def test_peak_at_the_start_of_a_clipped_day() -> None:
    period = Period(utc(2, 7, 46), utc(2, 23))
    # at 07:46 agents 1, 2 and 4 are logged in: the peak is at the start
    assert daily_peaks(CHANGES, period, PARIS) == [DayPeak(date(2026, 3, 2), 3, utc(2, 7, 46))]


def test_same_instant_swap_is_not_a_peak() -> None:
    changes = [
        StateChange(2, "ready", utc(2, 8)),
        StateChange(1, "logged_out", utc(2, 8)),
        StateChange(1, "ready", utc(2, 6)),
    ]
    peaks = daily_peaks(changes, local_day(date(2026, 3, 2), PARIS), PARIS)
    assert peaks == [DayPeak(date(2026, 3, 2), 1, utc(2, 6))]


def test_samples_count_changes_at_the_sample_instant() -> None:
    samples = concurrent_logged_in(CHANGES, Period(utc(2, 6), utc(2, 10)), step_s=3600)
    assert samples == [
        (utc(2, 6), 1),  # agent 1
        (utc(2, 7), 2),  # agent 2 logs in at 07:00
        (utc(2, 8), 2),  # agent 1 out, agent 3 in
        (utc(2, 9), 1),  # agent 3 out at 09:00; agent 2 not ready
    ]
