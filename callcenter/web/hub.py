"""Fan-out of server pushes to agents' and supervisors' browsers.

Why each connection gets its own bounded queue: the orchestrator calls
``to_agent`` in the middle of routing a call, so a push must never wait on a
browser. A browser that stops reading (a laptop lid closed, a stalled proxy) fills
only its own queue. When that queue is full the connection is marked *lagging*:
its pending messages are thrown away and its websocket is closed, so the page
reconnects and gets a complete fresh picture (state, current pop, wallboard
snapshot) instead of silently missing one pop in the middle of a stream.

Messages are encoded to JSON once, when pushed, so many wallboards cost one
encoding and a caller mutating its dict afterwards changes nothing.

The hub may be called from any thread: a push from outside the connection's
event loop is handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class SlowConsumer(Exception):
    """The browser fell ``queue_size`` messages behind; its connection must close."""


class Subscription:
    """One websocket's outbox. Created, filled and drained on one event loop."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._messages: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self.lagging = False

    def push(self, text: str) -> None:
        """Queue an encoded message; never blocks, from any thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._push_here(text)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._push_here, text)

    def _push_here(self, text: str) -> None:
        if self.lagging:
            return
        if len(self._messages) >= self._queue_size:
            self.lagging = True
            self._messages.clear()
            log.warning("browser too slow, disconnecting it", queue_size=self._queue_size)
        else:
            self._messages.append(text)
        self._wakeup.set()

    def pending(self) -> int:
        return len(self._messages)

    async def next(self) -> str:
        """The oldest queued message; raises SlowConsumer once the queue overflowed."""
        while True:
            if self.lagging:
                raise SlowConsumer
            if self._messages:
                return self._messages.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()


@dataclass(frozen=True, slots=True)
class PeerHandlers:
    """What a hub does when other nodes ask or tell it something (only a hub
    shared between nodes hears from any: ``callcenter.web.hub_fanout``)."""

    #: the messages that give a page opened on another node its whole picture:
    #: an agent's (its id) or a wallboard's (None); empty on a node with no router
    snapshot: Callable[[int | None], list[dict[str, Any]]]
    #: an agent's page opened, or closed, on another node
    desktop_opened: Callable[[int], None]
    desktop_closed: Callable[[int], None]
    #: a session ended on another node (``Sessions.apply_revocation``); whether
    #: it was a revocation at all
    revoked: Callable[[dict[str, Any]], bool]


class Hub:
    """Implements ``callcenter.ports.Notifier`` for websocket connections."""

    def __init__(self, *, queue_size: int = 100) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue_size = queue_size
        self._agents: dict[int, set[Subscription]] = {}
        self._wallboards: set[Subscription] = set()

    # -- Notifier -------------------------------------------------------------

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None:
        subscriptions = self._agents.get(agent_id)
        if not subscriptions:
            return
        text = _encode(message)
        if text is not None:
            for subscription in tuple(subscriptions):
                subscription.push(text)

    def to_wallboards(self, message: dict[str, Any]) -> None:
        if not self._wallboards:
            return
        text = _encode(message)
        if text is not None:
            for subscription in tuple(self._wallboards):
                subscription.push(text)

    # -- other nodes: none for a hub of one process -----------------------------

    def answer_peers(self, handlers: PeerHandlers) -> None:
        """How to answer other nodes; a hub of one process hears from none."""

    def share_revocation(self, revocation: dict[str, Any]) -> None:
        """Tell the other nodes a session ended here; a hub of one process has none."""

    def request_snapshot(self, agent_id: int | None) -> bool:
        """Ask the node that routes for the whole picture of a page opened here
        (an agent's, or a wallboard's for None), to come as pushes; whether
        anyone can hear the request (never, for a hub of one process)."""
        return False

    # -- connections ----------------------------------------------------------

    @property
    def wallboard_count(self) -> int:
        return len(self._wallboards)

    @contextmanager
    def agent_subscription(self, agent_id: int) -> Iterator[Subscription]:
        """Receive what is pushed to ``agent_id`` while the block runs (an agent
        may have several pages open; each gets every message)."""
        subscription = Subscription(self._queue_size)
        self._agents.setdefault(agent_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            remaining = self._agents.get(agent_id, set())
            remaining.discard(subscription)
            if not remaining:
                self._agents.pop(agent_id, None)

    def own_subscription(self) -> Subscription:
        """An outbox nothing is broadcast to: for a connection fed by its own
        task (a wallboard scoped to some queues), with the same bound."""
        return Subscription(self._queue_size)

    @contextmanager
    def wallboard_subscription(self) -> Iterator[Subscription]:
        subscription = Subscription(self._queue_size)
        self._wallboards.add(subscription)
        try:
            yield subscription
        finally:
            self._wallboards.discard(subscription)


def encode(message: dict[str, Any]) -> str:
    """The wire form of a push (compact JSON)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _encode(message: dict[str, Any]) -> str | None:
    try:
        return encode(message)
    except (TypeError, ValueError):
        # A bug in the caller must not break its call flow: drop and say so.
        log.exception("push is not JSON-serialisable; dropped", message_type=message.get("type"))
        return None
