"""Report periods: half-open spans of UTC time, ``start <= t < end``.

Half-open so that consecutive periods (hours, local days) never count an
instant twice: a call answered at local midnight belongs to the new day. For
the sliding window over "now" this means an event at exactly ``now`` shows at
the next refresh.

Local days and hours are taken in the center's IANA time zone (``zoneinfo``),
so a day of a daylight-saving change lasts 23 or 25 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_WINDOW_MIN = 30.0

# Every UTC offset in use is a multiple of 15 minutes, so stepping by a quarter
# of an hour meets every local hour.
_QUARTER = timedelta(minutes=15)
_TINY = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period's instants must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def clip(self, start: datetime, end: datetime) -> float:
        """Seconds of ``[start, end)`` inside the period."""
        lo, hi = max(start, self.start), min(end, self.end)
        return max(0.0, (hi - lo).total_seconds())


def sliding_window(now: datetime, minutes: float = DEFAULT_WINDOW_MIN) -> Period:
    """The last ``minutes`` before ``now``."""
    return Period(now - timedelta(minutes=minutes), now)


def local_midnight(day: date, tz: str) -> datetime:
    """The UTC instant local ``day`` starts.

    A midnight skipped by a daylight-saving jump (some zones change at 00:00)
    resolves, with ``fold=0``, to the instant of the jump: the day's real start.
    """
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_so_far(now: datetime, tz: str) -> Period:
    """Since local midnight of ``now``'s local day in zone ``tz``."""
    today = now.astimezone(ZoneInfo(tz)).date()
    return Period(local_midnight(today, tz), now)


def local_day(day: date, tz: str) -> Period:
    """One whole local day in zone ``tz`` (23, 24 or 25 hours long)."""
    return Period(local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))


def local_days(period: Period, tz: str) -> list[date]:
    """The local dates the period touches, in order."""
    if period.end == period.start:
        return []
    zone = ZoneInfo(tz)
    first = period.start.astimezone(zone).date()
    last = (period.end - _TINY).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def local_hour(at: datetime, tz: str) -> datetime:
    """The local wall-clock hour ``at`` falls in (naive, minutes zeroed)."""
    return at.astimezone(ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0, tzinfo=None)


def local_hours(period: Period, tz: str) -> list[datetime]:
    """The local wall-clock hours the period touches, in order, each once.

    The hour repeated when clocks go back appears once (it covers two real
    hours); the hour skipped when they go forward does not appear.
    """
    if period.end == period.start:
        return []
    hours = {local_hour(at, tz) for at in _quarters(period)}
    hours.add(local_hour(period.end - _TINY, tz))
    return sorted(hours)


def _quarters(period: Period) -> Iterator[datetime]:
    at = period.start
    while at < period.end:
        yield at
        at += _QUARTER
