"""The retention job: recordings past their queue's retention are deleted, and
each deletion is one row of the audit trail.

A queue's retention is read from the rules live now (an admin who shortens it
expects older recordings to go); a recording whose queue is no longer in the
rules, or is no longer recorded, keeps the retention it was made with. The row
stays (``deleted_at`` set) so the history still says the call was recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from callcenter.db.audit import AuditEvent, AuditTrail
from callcenter.db.recordings import kept_recordings, mark_deleted
from callcenter.db.session import Sessions
from recordings import Kept, RecordingStore, due_for_deletion
from routing import RoutingRules

log = structlog.get_logger(__name__)

RETENTION_USER = "(retention)"


def queue_retention(rules: RoutingRules) -> dict[str, int | None]:
    """Each recorded queue's retention in the rules (None: kept for ever)."""
    return {
        queue.name: queue.recording.retention_days
        for queue in rules.queues
        if queue.recording is not None
    }


async def apply_retention(
    sessions: Sessions,
    store: RecordingStore,
    rules: RoutingRules,
    audit: AuditTrail | None,
    now: datetime,
) -> list[int]:
    """Delete what is due now; returns the ids of the recordings deleted."""
    by_queue = queue_retention(rules)
    kept = await kept_recordings(sessions)
    paths = {recording.id: recording for recording in kept}
    due: list[int] = []
    # One retention per recording: its queue's now, else the one it was made with.
    for recording in kept:
        days = by_queue.get(recording.queue, recording.retention_days)
        if days is None:
            continue
        entry = Kept(recording.id, recording.queue, recording.started_at)
        due.extend(due_for_deletion([entry], {recording.queue: days}, None, now))
    deleted: list[int] = []
    for recording_id in due:
        recording = paths[recording_id]
        try:
            await asyncio.to_thread(store.delete, recording.path)
        except OSError as exc:
            log.error("a recording past retention could not be deleted", error=str(exc))
            continue
        await mark_deleted(sessions, recording_id, now)
        deleted.append(recording_id)
        if audit is not None:
            await audit.record(
                AuditEvent(
                    at=now,
                    username=RETENTION_USER,
                    action="recording.deleted",
                    target=str(recording_id),
                    detail={
                        "call_id": recording.call_id,
                        "queue": recording.queue,
                        "started_at": recording.started_at.isoformat(),
                        "retention_days": by_queue.get(recording.queue, recording.retention_days),
                    },
                )
            )
    if deleted:
        log.info("recordings past retention deleted", count=len(deleted))
    return deleted


async def run_retention(
    sessions: Sessions,
    store: RecordingStore,
    rules_now: Callable[[], RoutingRules],
    audit: AuditTrail | None,
    interval_s: float,
    clock: Callable[[], datetime],
) -> None:
    """Apply retention every ``interval_s`` until cancelled; a failed round is
    logged and tried again next time."""
    while True:
        try:
            await apply_retention(sessions, store, rules_now(), audit, clock())
        except Exception:
            log.exception("retention round failed")
        await asyncio.sleep(interval_s)
