"""Seat usage: how many agents were logged in at once.

An agent is logged in in any state but logged_out, from the state change that
logged them in to the one that logged them out. Changes at one instant are
applied together before counting, so an agent switching phones (out and back
in at the same instant) is not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from callcenter.reports.agent_figures import last_states
from callcenter.reports.facts import LOGGED_OUT, StateChange
from callcenter.reports.periods import Period, local_day, local_days

DEFAULT_STEP_S = 900.0


@dataclass(frozen=True, slots=True)
class DayPeak:
    day: date
    peak: int
    #: the first instant the peak was reached; None when nobody logged in
    at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "peak": self.peak,
            "at": None if self.at is None else self.at.isoformat(),
        }


def logged_in_at(changes: Iterable[StateChange], at: datetime) -> int:
    """Agents logged in at ``at`` (their last change at or before it)."""
    return sum(1 for change in last_states(changes, at).values() if change.state != LOGGED_OUT)


def concurrent_logged_in(
    changes: Iterable[StateChange], period: Period, step_s: float = DEFAULT_STEP_S
) -> list[tuple[datetime, int]]:
    """Agents logged in sampled every ``step_s`` from the period's start (end excluded)."""
    if step_s <= 0:
        raise ValueError(f"step must be positive, not {step_s}")
    ordered = sorted(changes, key=lambda change: change.at)
    samples: list[tuple[datetime, int]] = []
    logged_in: dict[int, bool] = {}
    index, at, step = 0, period.start, timedelta(seconds=step_s)
    while at < period.end:
        while index < len(ordered) and ordered[index].at <= at:
            change = ordered[index]
            logged_in[change.agent_id] = change.state != LOGGED_OUT
            index += 1
        samples.append((at, sum(logged_in.values())))
        at += step
    return samples


def daily_peaks(changes: Iterable[StateChange], period: Period, tz: str) -> list[DayPeak]:
    """The exact peak of each local day the period touches (clipped to the period)."""
    changes = list(changes)
    peaks: list[DayPeak] = []
    for day in local_days(period, tz):
        whole = local_day(day, tz)
        span = Period(max(whole.start, period.start), min(whole.end, period.end))
        peaks.append(_peak(day, changes, span))
    return peaks


def _peak(day: date, changes: list[StateChange], span: Period) -> DayPeak:
    """A sweep over the login and logout instants of ``span``."""
    logged_in = {
        agent: change.state != LOGGED_OUT
        for agent, change in last_states(changes, span.start).items()
    }
    peak, peak_at = sum(logged_in.values()), span.start
    inside = sorted(
        (change for change in changes if span.start < change.at < span.end),
        key=lambda change: change.at,
    )
    for at, together in groupby(inside, key=lambda change: change.at):
        for change in together:
            logged_in[change.agent_id] = change.state != LOGGED_OUT
        count = sum(logged_in.values())
        if count > peak:
            peak, peak_at = count, at
    return DayPeak(day, peak, peak_at if peak > 0 else None)
