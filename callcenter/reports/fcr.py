"""First contact resolution (FCR): did the customer have to come back?

A contact made in the period is

- **repeated** when the same customer has another contact, on any channel,
  later than it and at most ``days`` days after it (and not after ``as_of``);
- **pending** when it has no repeat yet but its ``days``-day window is still
  open at ``as_of``: it may yet be repeated, so it stays out of the rate;
- **resolved** otherwise: its window closed with no repeat.

rate = resolved / (resolved + repeated), None when both are 0. A contact is
credited to its own queue and agent. The contacts handed over must reach
``days`` days past the period's end, or late repeats go unseen.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from callcenter.reports.facts import ContactFact
from callcenter.reports.periods import Period

DEFAULT_FCR_DAYS = 7

RESOLVED = "resolved"
REPEATED = "repeated"
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class FcrFigures:
    contacts: int = 0
    resolved: int = 0
    repeated: int = 0
    pending: int = 0
    rate: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "contacts": self.contacts,
            "resolved": self.resolved,
            "repeated": self.repeated,
            "pending": self.pending,
            "rate": None if self.rate is None else round(self.rate, 4),
        }


@dataclass(frozen=True, slots=True)
class FcrReport:
    overall: FcrFigures
    by_queue: dict[str, FcrFigures] = field(default_factory=dict)
    by_agent: dict[int, FcrFigures] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_json(),
            "by_queue": {queue: f.as_json() for queue, f in self.by_queue.items()},
            "by_agent": {str(agent): f.as_json() for agent, f in self.by_agent.items()},
        }


def first_contact_resolution(
    contacts: Iterable[ContactFact],
    period: Period,
    *,
    days: int = DEFAULT_FCR_DAYS,
    as_of: datetime,
) -> FcrReport:
    window = timedelta(days=days)
    contacts = list(contacts)
    times_by_customer: defaultdict[int, list[datetime]] = defaultdict(list)
    for contact in contacts:
        if contact.at <= as_of:
            times_by_customer[contact.customer_id].append(contact.at)
    for times in times_by_customer.values():
        times.sort()
    overall: list[str] = []
    by_queue: defaultdict[str, list[str]] = defaultdict(list)
    by_agent: defaultdict[int, list[str]] = defaultdict(list)
    for contact in contacts:
        if contact.at not in period:
            continue
        verdict = _verdict(contact, times_by_customer[contact.customer_id], window, as_of)
        overall.append(verdict)
        if contact.queue is not None:
            by_queue[contact.queue].append(verdict)
        if contact.agent_id is not None:
            by_agent[contact.agent_id].append(verdict)
    return FcrReport(
        overall=_figures(overall),
        by_queue={queue: _figures(v) for queue, v in sorted(by_queue.items())},
        by_agent={agent: _figures(v) for agent, v in sorted(by_agent.items())},
    )


def _verdict(
    contact: ContactFact, times: list[datetime], window: timedelta, as_of: datetime
) -> str:
    later = bisect_right(times, contact.at)
    if later < len(times) and times[later] <= contact.at + window:
        return REPEATED
    return RESOLVED if contact.at + window <= as_of else PENDING


def _figures(verdicts: list[str]) -> FcrFigures:
    resolved = verdicts.count(RESOLVED)
    repeated = verdicts.count(REPEATED)
    return FcrFigures(
        contacts=len(verdicts),
        resolved=resolved,
        repeated=repeated,
        pending=verdicts.count(PENDING),
        rate=resolved / (resolved + repeated) if resolved + repeated else None,
    )
