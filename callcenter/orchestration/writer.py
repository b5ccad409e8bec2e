"""Writes call history in order, off the routing path.

Why a queue: routing must not wait for the database (an offer is due within
milliseconds of an arrival), yet the steps of one call must land in the order
they happened. One worker drains the queue in order; a failed write is logged
with the step's name and the work goes on, so a database hiccup never stalls
calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

Write = Callable[[], Awaitable[None]]


class OrderedWriter:
    def __init__(self, *, max_pending: int = 100_000) -> None:
        self._queue: asyncio.Queue[tuple[str, Write] | None] = asyncio.Queue(max_pending)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="call-history-writer")

    def submit(self, step: str, write: Write) -> None:
        try:
            self._queue.put_nowait((step, write))
        except asyncio.QueueFull:
            log.error("history writer full: step dropped", step=step)

    async def flush(self) -> None:
        """Wait until everything submitted so far is written (tests, shutdown)."""
        await self._queue.join()

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if item is None:
                    return
                step, write = item
                try:
                    await write()
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise
                    # A write that was cancelled from inside must not stop the writer.
                    log.error("history write cancelled", step=step)
                except Exception:
                    log.exception("history write failed", step=step)
            finally:
                self._queue.task_done()
