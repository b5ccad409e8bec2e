"""Writes call history in order, off the routing path, retried until written.

Why a queue: routing must not wait for the database (an offer is due within
milliseconds of an arrival), yet the steps of one call must land in the order
they happened. One worker drains the queue in order.

Why retried: a database that is slow, restarting or briefly unreachable must
not cost a single record. A write that fails for such a transient reason is
tried again, with backoff (capped at a few seconds), until it lands; steps
behind it wait, so order holds. The queue has no bound (a step is a few hundred
bytes; an hour's outage at 100 calls/s is well under a GB), and the backlog is
exported as a gauge and logged as it grows. The record writes are idempotent
(``callcenter.db.records``), so a write retried after the database did apply it
does no harm.

Why batched: a commit per step is what falls behind under load (a call is a
dozen steps; at 50 calls/s on SQLite the queue grew by thousands a second).
Given a ``batch`` (``CallRecords.batch``), the worker takes every step queued
up meanwhile, up to ``max_batch``, and writes them in one transaction, in
order. Idle, a batch is one step, so nothing waits for company.

A write the database refuses for good (a constraint or a bug: retrying cannot
help) is logged with its step and counted, and the work goes on. In a batch,
a refusal rolls the whole batch back, and its steps are then written one by
one, so only the refused step is lost.

Why a call's first step goes ahead of the queue and can be waited for
(``submit_first``): what is queued here dies with the process, and a call
offered to an agent and then answered while the service was down (killed,
restarted) would have no record at all if its arrival was still queued at the
kill. The orchestrator keeps each arrival in a journal on local disk
(``callcenter.arrival_journal``) until this writer says it is written; going
ahead of other calls' queued steps keeps that window short, and a first step
follows nothing of its call, so order holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_never,
    wait_exponential,
)
from tenacity.wait import wait_base

from callcenter.metrics import HISTORY_FAILED, HISTORY_PENDING, HISTORY_RETRIES

log = structlog.get_logger(__name__)

Write = Callable[[], Awaitable[None]]

#: log the backlog each time it passes another multiple of this many steps
BACKLOG_WARNING = 10_000
#: steps written in one transaction at most
MAX_BATCH = 200

Batch = Callable[[], AbstractAsyncContextManager[None]]


def is_transient(exc: BaseException) -> bool:
    """A failure that trying again later can cure: the connection, not the data."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, OSError | TimeoutError)


class OrderedWriter:
    def __init__(
        self,
        *,
        wait: wait_base | None = None,
        backlog_warning: int = BACKLOG_WARNING,
        batch: Batch | None = None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._batch = batch
        self._max_batch = max_batch if batch is not None else 1
        self._queue: asyncio.Queue[_Step | None] = asyncio.Queue()
        #: steps of ``submit_first``, also in the queue (which counts and wakes)
        self._firsts: list[_Step] = []
        self._task: asyncio.Task[None] | None = None
        self._wait = wait or wait_exponential(multiplier=0.05, max=5.0)
        self._backlog_warning = backlog_warning
        self._warned_at = 0

    @property
    def pending(self) -> int:
        """Steps submitted and not yet written (or given up as refused)."""
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="call-history-writer")

    def submit(self, step: str, write: Write) -> None:
        self._enqueue(_Step(step, write))

    def submit_first(self, step: str, write: Write) -> asyncio.Future[bool]:
        """A call's first step: written in the next transaction, ahead of the
        steps already queued (it follows no step of its call, so order holds),
        and a future that says once it is over: True when written, False when
        refused or the writer stopped first. Why ahead: until this is written
        the call is only in the arrival journal, and the backlog of other
        calls' steps must not keep it there."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        first = _Step(step, write, done)
        self._firsts.append(first)
        self._enqueue(first)
        return done

    def _enqueue(self, step: _Step) -> None:
        self._queue.put_nowait(step)
        HISTORY_PENDING.inc()
        pending = self._queue.qsize()
        if pending >= self._warned_at + self._backlog_warning:
            self._warned_at = pending - pending % self._backlog_warning
            log.warning("history writes are backing up", pending=pending)
        elif pending < self._warned_at:
            self._warned_at = pending - pending % self._backlog_warning

    async def flush(self) -> None:
        """Wait until everything submitted so far is written (tests, shutdown)."""
        await self._queue.join()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop. If the database stays unreachable for
        ``timeout_s``, stop anyway and say how many steps were not written."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            log.error("history writer stopped with steps unwritten", unwritten=self.pending)

    async def _drain(self) -> None:
        while True:
            items = [await self._queue.get()]
            while (
                items[-1] is not None and len(items) < self._max_batch and not self._queue.empty()
            ):
                items.append(self._queue.get_nowait())
            steps = self._take_firsts()
            steps += [item for item in items if item is not None and not item.taken]
            try:
                if len(steps) > 1 and self._batch is not None:
                    await self._write_together(steps)
                else:
                    for step in steps:
                        await self._write(step)
            finally:
                HISTORY_PENDING.dec(len(steps))
                for step in steps:
                    step.over(written=False)  # a no-op for those written
                for _ in items:
                    self._queue.task_done()
            if items[-1] is None:
                return

    def _take_firsts(self) -> list[_Step]:
        """The first steps not yet written, marked so that their place in the
        queue, reached later, is passed over."""
        firsts, self._firsts = self._firsts, []
        for step in firsts:
            step.taken = True
        return firsts

    async def _write_together(self, steps: list[_Step]) -> None:
        """Steps in one transaction; if it is refused, each on its own."""
        batch = self._batch
        assert batch is not None  # only batched with a batch

        async def together() -> None:
            async with batch():
                for step in steps:
                    await step.write()

        try:
            await self._until_written(f"{len(steps)} steps", together)
            for step in steps:
                step.over(written=True)
            return
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception:
            pass  # the step refused is named when it is written alone
        for step in steps:
            await self._write(step)

    async def _write(self, item: _Step) -> None:
        step = item.step
        try:
            await self._until_written(step, item.write)
            item.over(written=True)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # A write that was cancelled from inside must not stop the writer.
            HISTORY_FAILED.inc()
            log.error("history write cancelled", step=step)
        except Exception:
            HISTORY_FAILED.inc()
            log.exception("history write refused", step=step)

    async def _until_written(self, step: str, write: Write) -> None:
        """One plain attempt (the usual case costs nothing more); after a
        transient failure, attempts with backoff until one succeeds."""
        try:
            await write()
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            _note_retry(step)(None)
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=self._wait,
            stop=stop_never,
            before_sleep=_note_retry(step),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await write()


@dataclass(slots=True)
class _Step:
    """A queued write, and who waits for it (``submit_first``), if anyone."""

    step: str
    write: Write
    done: asyncio.Future[bool] | None = None
    #: in a transaction already (a first step is taken ahead of its place)
    taken: bool = False

    def over(self, *, written: bool) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(written)


def _note_retry(step: str) -> Callable[[RetryCallState | None], None]:
    def note(state: RetryCallState | None) -> None:
        HISTORY_RETRIES.inc()
        outcome = state.outcome if state is not None else None
        error = outcome.exception() if outcome is not None else None
        log.warning(
            "history write failed, trying again",
            step=step,
            attempt=state.attempt_number if state is not None else 1,
            error=type(error).__name__ if error is not None else None,
        )

    return note
