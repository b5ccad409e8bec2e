"""New calls' arrivals on local disk until their records are in the database.

Why: the call history is written off the routing path, in order, by one
writer (``callcenter.orchestration.writer``), and what it has queued dies with
the process. A call offered to an agent, then answered and over while the
service was down (``kill -9``, a crash, a restart), would leave nothing at all
if its arrival was still queued: no record, and no channel left on the PBX to
rebuild it from. Waiting for the database before each offer would close that
gap, at the price of a commit in every offer's path (hundreds of ms on SQLite
under load). An append to a local file costs microseconds, and what the
``write`` call has handed to the kernel outlives the process.

How: one JSON line per arrival, appended to the current segment file
(``arrivals-<time>-<pid>.jsonl``). A segment is deleted once every arrival in
it is written to the database; the current one is changed for a new one every
``segment_entries`` arrivals. So what is on disk at any time is a few
thousand lines at most, and it is the arrivals the database may lack.

A segment is locked (``flock``) while its process has it open, and the kernel
lets go of the lock when that process dies, however it dies. So the next start
(``left_behind``) takes exactly the segments of processes that are gone, even
with another node's live ones in the same directory, and writes their
arrivals (``callcenter.db.records.CallRecorder.arrivals_recovered``, which skips
what is recorded already). A call so recovered is an open record like any
other left by an earlier run: matched against the PBX on resync, and closed
with a reason when it is not there any more.

What it does not cover: the machine losing power (the file is not synced per
line; a sync per arrival costs milliseconds on a busy disk). For that, run two
nodes on PostgreSQL (``callcenter.leadership``).

Customer data: a line holds the caller's number, as the record will, so files
are created readable by the service's user alone.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import make_url

from callcenter.metrics import JOURNAL_FAILED
from callcenter.orchestration.ports import Arrival

log = structlog.get_logger(__name__)

#: arrivals per segment before the next one is started
SEGMENT_ENTRIES = 1000
_PATTERN = "arrivals-*.jsonl"


@dataclass
class _Segment:
    path: Path
    fd: int
    entries: int = 0
    #: arrivals in it whose records are not written yet
    outstanding: int = 0


@dataclass
class LeftBehind:
    """The segments of processes that are gone, held (locked) until forgotten."""

    arrivals: list[Arrival]
    _held: list[tuple[Path, int]] = field(default_factory=list)

    def forget(self) -> None:
        """Their arrivals are in the database now: delete the files."""
        for path, fd in self._held:
            path.unlink(missing_ok=True)
            os.close(fd)
        self._held.clear()

    def keep(self) -> None:
        """Not written (the database refused): leave them for the next start."""
        for _, fd in self._held:
            os.close(fd)
        self._held.clear()


class FileArrivalJournal:
    """Implements ``callcenter.orchestration.ports.ArrivalJournal`` on files in
    ``directory`` (one directory per database: ``directory_for``)."""

    def __init__(self, directory: Path, *, segment_entries: int = SEGMENT_ENTRIES) -> None:
        self._directory = directory
        self._segment_entries = segment_entries
        self._current: _Segment | None = None
        #: full segments with arrivals not yet written
        self._older: list[_Segment] = []
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def left_behind(self) -> LeftBehind:
        """The arrivals in segments whose process is gone, oldest first. Call
        before the first ``note``; unreadable lines are logged and passed over."""
        found = LeftBehind([])
        for path in sorted(self._directory.glob(_PATTERN)):
            try:
                fd = os.open(path, os.O_RDWR)
            except FileNotFoundError:
                continue  # another node took it meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue  # its process is alive
            found._held.append((path, fd))
            found.arrivals.extend(_read(path))
        return found

    def note(self, arrival: Arrival) -> Callable[[], None]:
        """Appended at once. A disk that refuses it (full, gone) must not stop
        the call: it is counted and logged, and goes on unjournaled."""
        try:
            segment = self._segment()
            os.write(segment.fd, _line(arrival))
        except OSError as exc:
            JOURNAL_FAILED.inc()
            log.error("arrival not journaled", call_id=arrival.call_id, error=str(exc))
            return _nothing
        segment.entries += 1
        segment.outstanding += 1
        done = False

        def written() -> None:
            nonlocal done
            if done:
                return
            done = True
            segment.outstanding -= 1
            if segment.outstanding == 0 and segment in self._older:
                self._older.remove(segment)
                _delete(segment)

        return written

    def close(self) -> None:
        """At a clean stop: the current segment goes if all of it is written;
        segments with arrivals unwritten stay for the next start."""
        for segment in [*self._older, *([self._current] if self._current else [])]:
            if segment.outstanding == 0:
                _delete(segment)
            else:
                os.close(segment.fd)
                log.warning(
                    "arrivals left unwritten for the next start",
                    unwritten=segment.outstanding,
                    path=str(segment.path),
                )
        self._older.clear()
        self._current = None

    def _segment(self) -> _Segment:
        current = self._current
        if current is not None and current.entries < self._segment_entries:
            return current
        if current is not None:
            self._current = None
            if current.outstanding == 0:
                _delete(current)
            else:
                self._older.append(current)
        path = self._directory / f"arrivals-{time.time_ns():020d}-{os.getpid()}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._current = _Segment(path, fd)
        return self._current


def _nothing() -> None:
    pass


def directory_for(root: Path, database_url: str) -> Path:
    """The journal of one database, under ``root``: arrivals are recovered only
    into the database they were meant for (tests and benchmarks run many)."""
    named = make_url(database_url).render_as_string(hide_password=True)
    return root / hashlib.sha256(named.encode()).hexdigest()[:16]


async def recover_arrivals(
    journal: FileArrivalJournal, write: Callable[[list[Arrival]], Awaitable[int]]
) -> int:
    """Write the arrivals earlier processes left behind (``write`` skips what
    is recorded already and says how many it added), then forget them; how
    many were added. If the write fails they are kept for the next start, and
    this start goes on (a refused journal must not keep the service down)."""
    left = journal.left_behind()
    if not left.arrivals:
        left.forget()
        return 0
    try:
        added = await write(left.arrivals)
    except Exception:
        left.keep()
        log.exception("arrivals left by an earlier run not recovered, kept for the next start")
        return 0
    left.forget()
    log.info("arrivals recovered from the journal", found=len(left.arrivals), added=added)
    return added


def _line(arrival: Arrival) -> bytes:
    return (
        json.dumps(
            {
                "call_id": arrival.call_id,
                "pbx": arrival.pbx,
                "linkedid": arrival.linkedid,
                "queue": arrival.queue,
                "caller_number": arrival.caller_number,
                "enqueued_at": arrival.enqueued_at.isoformat(),
            },
            separators=(",", ":"),
        )
        + "\n"
    ).encode()


def _read(path: Path) -> list[Arrival]:
    arrivals = []
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                arrivals.append(_arrival(json.loads(line)))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning(
                    "unreadable journal line passed over",
                    path=str(path),
                    line=number,
                    error=type(exc).__name__,
                )
    return arrivals


def _arrival(entry: Any) -> Arrival:
    fields = ("call_id", "pbx", "linkedid", "queue", "caller_number")
    if not isinstance(entry, dict) or not all(isinstance(entry[f], str) for f in fields):
        raise TypeError("not an arrival")
    at = datetime.fromisoformat(entry["enqueued_at"])
    if at.tzinfo is None:
        raise ValueError("an arrival's time has no zone")
    return Arrival(
        call_id=entry["call_id"],
        pbx=entry["pbx"],
        linkedid=entry["linkedid"],
        queue=entry["queue"],
        caller_number=entry["caller_number"],
        enqueued_at=at,
    )


def _delete(segment: _Segment) -> None:
    segment.path.unlink(missing_ok=True)
    os.close(segment.fd)
