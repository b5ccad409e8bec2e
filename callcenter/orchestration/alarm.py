"""One wake-up on the event loop, at the router's next deadline.

The router has no clock: it says when it next needs waking (a bullseye step, a
known-agent window, a max wait) and the shell sets this alarm. Only the nearest
instant matters, so setting it again replaces the previous one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Alarm:
    def __init__(self, clock: Callable[[], float], wake: Callable[[], None]) -> None:
        self._clock = clock
        self._wake = wake
        self._at: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    def set(self, at: float | None) -> None:
        """Ring at epoch instant ``at`` (None: not at all)."""
        if at == self._at and self._handle is not None:
            return
        self.cancel()
        if at is None:
            return
        self._at = at
        delay = max(0.0, at - self._clock())
        self._handle = asyncio.get_running_loop().call_later(delay, self._ring)

    @property
    def at(self) -> float | None:
        return self._at

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._at = None

    def _ring(self) -> None:
        self._handle = None
        self._at = None
        self._wake()
