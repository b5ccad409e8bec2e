"""Keeping a recorded call: its legs' files joined into one recording, stored
(encrypted when a key is set), and described in the database.

The orchestrator hands over a call when it is over (``call_recorded``, which
only queues it: the event loop reads the AMI). One task works the queue: it
waits for each leg's file to be complete (MixMonitor closes it when the leg
hangs up; a real Asterisk may take a moment), joins the legs, stores the
result, writes the metadata, and only then removes the spool files, so a crash
at any step leaves the legs' audio where Asterisk wrote it. A leg whose file
never comes is noted in ``missing_legs``; the rest is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import structlog
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from callcenter.db.recordings import NewRecording, save_recording
from callcenter.db.session import Sessions
from callcenter.orchestration.recording_tracker import FinishedRecording, RecordedLeg
from recordings import Joined, LegAudio, Pause, RecordingStore, join_legs, pauses_in_joined

log = structlog.get_logger(__name__)

#: how often a leg's file is looked at while waiting for it
POLL_S = 0.2


class RecordingIngest:
    """Implements ``callcenter.orchestration.ports.RecordingSink``."""

    def __init__(
        self,
        sessions: Sessions,
        store: RecordingStore,
        spool_dir: Path,
        *,
        file_wait_s: float = 10.0,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._spool = spool_dir
        self._file_wait_s = file_wait_s
        self._queue: asyncio.Queue[FinishedRecording] = asyncio.Queue()
        #: ids of the recordings kept by this process, newest last (for tests
        #: and the benchmark; the database is the record)
        self.kept: list[int] = []

    def call_recorded(self, recording: FinishedRecording) -> None:
        self._queue.put_nowait(recording)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    async def run(self) -> None:
        """Work the queue until cancelled; a recording that fails is logged
        with its call id and its legs' files are left in the spool."""
        while True:
            recording = await self._queue.get()
            try:
                self.kept.append(await self.keep(recording))
            except Exception:
                log.exception("recording not kept", call_id=recording.call_id)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far is handled."""
        await self._queue.join()

    def leg_file(self, call_id: str, leg: RecordedLeg) -> Path:
        return self._spool / f"{call_id}{leg.part}.wav"

    async def keep(self, recording: FinishedRecording) -> int:
        files = [self.leg_file(recording.call_id, leg) for leg in recording.legs]
        await self._wait_for(files)
        legs = [
            LegAudio(leg.leg_id, leg.agent_id, leg.started_at or recording.ended_at, path)
            for leg, path in zip(recording.legs, files, strict=True)
        ]
        joined = await asyncio.to_thread(join_legs, legs)
        started_at = datetime.fromtimestamp(legs[0].started_at, UTC)
        stored = await asyncio.to_thread(
            self._store.save, recording.call_id, started_at, joined.wav
        )
        new = NewRecording(
            call_id=recording.call_id,
            queue=recording.queue,
            started_at=started_at,
            duration_s=joined.duration_s,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            path=stored.relative_path,
            encrypted=stored.encrypted,
            sections=[asdict(section) for section in joined.sections],
            pauses=[asdict(pause) for pause in self._pauses(recording.legs, legs, joined)],
            missing_legs=joined.missing,
            retention_days=recording.retention_days,
            agent_ids={leg.agent_id for leg in recording.legs if leg.agent_id is not None},
        )
        recording_id = await self._save(new)
        for path in files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        log.info(
            "recording kept",
            call_id=recording.call_id,
            recording_id=recording_id,
            duration_s=round(joined.duration_s, 1),
            legs=len(legs),
            missing=len(joined.missing),
        )
        return recording_id

    @staticmethod
    def _pauses(
        recorded: Sequence[RecordedLeg], legs: Sequence[LegAudio], joined: Joined
    ) -> list[Pause]:
        """Each leg's mutes, a mute still on at hangup running to the leg's end."""
        mutes = {
            leg.leg_id: [
                (m.start, m.end if m.end is not None else math.inf, m.by) for m in leg.mutes
            ]
            for leg in recorded
        }
        return pauses_in_joined(legs, joined, mutes)

    async def _wait_for(self, files: Sequence[Path]) -> None:
        """Until each file exists and its size holds still between two looks,
        or ``file_wait_s`` passed (the join then notes what is missing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._file_wait_s
        sizes: dict[Path, int] = {}
        pending = list(files)
        while pending and loop.time() < deadline:
            still: list[Path] = []
            for path in pending:
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    still.append(path)
                    continue
                if sizes.get(path) != size:
                    sizes[path] = size
                    still.append(path)
            pending = still
            if pending:
                await asyncio.sleep(POLL_S)
        if pending:
            log.warning("recording legs missing", files=[path.name for path in pending])

    async def _save(self, new: NewRecording) -> int:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(5),
            wait=wait_exponential(multiplier=0.2, max=5),
            reraise=True,
        ):
            with attempt:
                return await save_recording(self._sessions, new)
        raise AssertionError("unreachable")
