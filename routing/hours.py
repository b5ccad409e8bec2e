"""Is a queue open at a given instant? Opening hours, public holidays, closed dates.

The router has no clock: the instant is passed in (epoch seconds) and read in the
queue's own time zone, so a queue in Berlin opens at 09:00 Berlin time whatever
the server's zone, and summer time is handled by ``zoneinfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import holidays

from routing.rules import WEEKDAYS, Hours, parse_span


@dataclass(frozen=True, slots=True)
class OpenState:
    is_open: bool
    #: why, in words a supervisor reads ("public holiday: Christmas Day")
    reason: str


class Calendar:
    """Compiled ``Hours``: parsed spans and a holiday calendar that grows lazily."""

    def __init__(self, hours: Hours) -> None:
        self._hours = hours
        self._zone = ZoneInfo(hours.timezone)
        self._spans = {
            day: [parse_span(span) for span in spans] for day, spans in hours.weekly.items()
        }
        self._closed = frozenset(hours.closed_dates)
        self._holidays = (
            holidays.country_holidays(hours.holidays_country, subdiv=hours.holidays_subdivision)
            if hours.holidays_country
            else None
        )

    def state_at(self, epoch_s: float) -> OpenState:
        local = datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(self._zone)
        today = local.date()
        if today in self._closed:
            return OpenState(False, f"closed on {today.isoformat()}")
        holiday = self._holiday(today)
        if holiday is not None:
            return OpenState(False, f"public holiday: {holiday}")
        day = WEEKDAYS[local.weekday()]
        now = local.time()
        for opens, closes in self._spans.get(day, []):
            if opens <= now and (now < closes or closes == time(0, 0)):
                return OpenState(True, f"open {opens:%H:%M}-{_closing(closes)} {day}")
        hours = ", ".join(self._hours.weekly.get(day, [])) or "closed all day"
        return OpenState(False, f"outside hours ({day} {hours}, {self._hours.timezone})")

    def _holiday(self, day: date) -> str | None:
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return str(name) if name else None


def _closing(closes: time) -> str:
    return "24:00" if closes == time(0, 0) else f"{closes:%H:%M}"
