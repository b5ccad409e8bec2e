"""Dropping an AMI client that stops reading, as Asterisk's ``writetimeout`` does.

Why: Asterisk never lets one stuck client hold events for everyone. A write to a
session that cannot take it within ``writetimeout`` (manager.conf, 100 ms by
default) fails and the session is torn down; the client finds its connection gone
and must reconnect and resynchronise. The simulator plays that out so a client's
recovery can be tested: when a session's unsent output stays above a limit for
longer than the timeout, the connection is aborted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

#: Asterisk's default ``writetimeout``, in seconds
DEFAULT_WRITE_TIMEOUT_S = 0.1
#: unsent bytes a session may hold before the write counts as blocked (asyncio's
#: own default high-water mark)
BACKLOG_LIMIT_BYTES = 64 * 1024


class StallWatch:
    """Watches one session's transport; calls ``drop`` once its backlog stayed above
    ``limit_bytes`` for ``timeout_s``."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        timeout_s: float,
        drop: Callable[[], None],
        *,
        limit_bytes: int = BACKLOG_LIMIT_BYTES,
    ) -> None:
        self._transport = transport
        self._timeout_s = timeout_s
        self._drop = drop
        self._limit_bytes = limit_bytes
        self._deadline: asyncio.TimerHandle | None = None

    def _blocked(self) -> bool:
        return self._transport.get_write_buffer_size() > self._limit_bytes

    def wrote(self) -> None:
        """After each write: start the clock when the backlog first passes the limit,
        stop it when the client has caught up."""
        if not self._blocked():
            self.cancel()
        elif self._deadline is None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self._timeout_s, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self._blocked() and not self._transport.is_closing():
            log.info(
                "simulator: AMI client not reading, session dropped",
                backlog=self._transport.get_write_buffer_size(),
            )
            self._drop()

    def cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
