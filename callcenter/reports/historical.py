"""Historical reports: queue figures grouped by queue, agent, local hour or day.

Every row is computed like the wallboard's figures (``queue_figures``), over
the calls counting in the period, grouped by

- ``queue``: the call's queue, rows for queues with calls;
- ``agent``: the agent who answered first (id as a string), rows sorted by id;
  unanswered calls have no agent and are left out;
- ``hour``: the local hour the call counts in, ``"2026-12-06T14:00"``;
- ``day``: the local day it counts in, ``"2026-12-06"``.

Hours and days with no traffic are present with zero figures so charts have
no gaps. On the day clocks go back, the repeated local hour is one row covering
both real hours; on the day they go forward, the skipped hour has no row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from callcenter.reports.facts import CallFact
from callcenter.reports.periods import Period, local_days, local_hour, local_hours
from callcenter.reports.queue_figures import (
    QueueFigures,
    ReportPolicy,
    figures_of,
    in_period,
)

GroupBy = Literal["queue", "agent", "hour", "day"]
GROUP_BYS: tuple[GroupBy, ...] = ("queue", "agent", "hour", "day")

_HOUR_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    figures: QueueFigures

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, **self.figures.as_json()}


def historical(
    calls: Iterable[CallFact],
    period: Period,
    policy: ReportPolicy,
    *,
    group_by: GroupBy,
    tz: str,
) -> list[ReportRow]:
    """Rows sorted by key (agents by numeric id)."""
    key_of, all_keys = _grouping(group_by, period, tz)
    groups: dict[str, list[CallFact]] = {key: [] for key in all_keys}
    for call in in_period(calls, period):
        key = key_of(call)
        if key is not None:
            groups.setdefault(key, []).append(call)
    keys = sorted(groups, key=int) if group_by == "agent" else sorted(groups)
    return [ReportRow(key, figures_of(groups[key], policy)) for key in keys]


def _grouping(
    group_by: GroupBy, period: Period, tz: str
) -> tuple[Callable[[CallFact], str | None], list[str]]:
    zone = ZoneInfo(tz)

    def by_hour(call: CallFact) -> str | None:
        at = call.counted_at
        return None if at is None else local_hour(at, tz).strftime(_HOUR_FORMAT)

    def by_day(call: CallFact) -> str | None:
        at = call.counted_at
        return None if at is None else at.astimezone(zone).date().isoformat()

    def by_agent(call: CallFact) -> str | None:
        return None if call.agent_id is None else str(call.agent_id)

    if group_by == "hour":
        return by_hour, [hour.strftime(_HOUR_FORMAT) for hour in local_hours(period, tz)]
    if group_by == "day":
        return by_day, [day.isoformat() for day in local_days(period, tz)]
    if group_by == "agent":
        return by_agent, []
    if group_by == "queue":
        return (lambda call: call.queue), []
    raise ValueError(f"unknown grouping {group_by!r}; expected one of {GROUP_BYS}")
