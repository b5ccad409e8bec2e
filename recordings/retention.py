"""Which kept recordings are past their queue's retention and must be deleted.

Pure: the recordings, the rules and the time come in, ids go out, so the
retention job's decision is testable without a database or a clock. Retention
is per queue because different lines of business keep tape for different legal
periods; a queue without its own rule takes the default, and no default means
kept until someone decides otherwise (deleting is the irreversible choice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Kept:
    """A recording still on disk, as the retention job sees it."""

    recording_id: int
    queue: str
    started_at: datetime


def due_for_deletion(
    kept: Iterable[Kept],
    retention_days: Mapping[str, int],
    default_days: int | None,
    now: datetime,
) -> list[int]:
    """Ids of the recordings older than their queue's retention at ``now``,
    oldest first. Exactly ``days`` old is still kept: the period is a minimum."""
    due: list[Kept] = []
    for item in kept:
        days = retention_days.get(item.queue, default_days)
        if days is None:
            continue
        if days < 0:
            raise ValueError(f"retention for queue {item.queue!r} is negative ({days} days)")
        if now - item.started_at > timedelta(days=days):
            due.append(item)
    due.sort(key=lambda item: (item.started_at, item.recording_id))
    return [item.recording_id for item in due]
