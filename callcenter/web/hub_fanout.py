"""Hub messages shared between API nodes through Redis pub/sub.

Why: with several API/websocket nodes behind a load balancer, an agent's page
may be connected to any of them while the pop is built on another. Each node
publishes every message its hub is asked to deliver to one Redis channel, and
delivers what the other nodes publish to its own websocket clients.

Exactly once per connected client: a node delivers its own messages locally,
at once, and ignores their echo from the channel (an envelope carries the
origin of the hub instance that published it, made unique per process with a
random part, so two nodes given the same name still never drop each other's
messages). Delivering only from the subscription was the other way; it was not
chosen because a local pop would then wait for a round trip to Redis, and a
Redis outage would take every page off the air, or need a fallback that could
deliver a message twice when Redis comes back at the wrong moment.

Pages opened on a node that does not route (a standby serving as an API
node): that node asks, with a ``snapshot`` envelope, for the page's whole
picture; the node that routes answers with pushes addressed to the asking node
only (``to``), so the agent's other pages do not get it twice. Every node also
publishes a ``presence`` envelope (how many pages of each agent, how many
wallboards it serves) when that changes and every ``presence_interval_s``: the
routing node counts those desktops as open (``DesktopPresence``) and keeps
pushing wallboards while any node shows one. A node not heard from for three
intervals is taken as gone, and its pages as closed.

When Redis is down: local delivery goes on unchanged (a single node keeps
working); what other nodes should have had is lost for them (pub/sub is
at-most-once). Publishing never blocks nor raises into the orchestrator: a push
is queued (bounded by ``max_pending``) and a background task publishes it,
retrying with backoff while the message is younger than ``max_delay_s``. A pop
arriving late on another node is worse than none (the call may be gone), so
older messages are dropped and counted. The subscription reconnects with backoff
and is logged; the Redis URL may hold a password, so only host, port and
database number are ever logged.

Importing this module imports ``redis``; the composition root does so only when
``redis_url`` is set, so a single in-process node does not need it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, cast
from urllib.parse import urlsplit

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception_type,
    wait_exponential,
)

from callcenter.web.hub import Hub, PeerHandlers, Subscription

log = structlog.get_logger(__name__)

DEFAULT_CHANNEL = "callcenter:hub"
#: the envelope's format; a node skips envelopes of another version
ENVELOPE_VERSION = 1
#: the longest pause between two tries to reach Redis
MAX_BACKOFF_S = 5.0
#: how long a receive waits before the loop looks again (and health-checks)
RECEIVE_TIMEOUT_S = 1.0
#: how long the stop waits to publish what is still queued
FLUSH_ON_STOP_S = 1.0
#: a node silent for this many presence intervals is taken as gone
PEER_SILENCE_INTERVALS = 3
#: pages opening together (a shift starting, a node's pages reconnecting) make one
#: presence message, not one each
PRESENCE_SETTLE_S = 0.2

Kind = Literal["agent", "wallboards", "snapshot", "presence", "revoke"]
_KINDS: frozenset[str] = frozenset({"agent", "wallboards", "snapshot", "presence", "revoke"})
_FAILURES = (RedisError, OSError)


class MalformedEnvelope(ValueError):
    """What came from the channel is not an envelope this node can deliver."""


@dataclass(frozen=True)
class Envelope:
    """One hub message on the channel: who published it, to whom it goes.

    Kinds: ``agent`` (a push to ``target``'s pages), ``wallboards``, ``snapshot``
    (a page of agent ``target``, or a wallboard for None, opened on ``origin``
    wants its picture), ``presence`` (the pages ``origin`` serves), ``revoke``
    (a session ended on ``origin``: a logout, a user's roles changed)."""

    origin: str
    kind: Kind
    #: the agent for ``agent``; None for ``wallboards`` and ``presence``
    target: int | None
    message: dict[str, Any]
    #: the one node that delivers it (a snapshot's answer); None: every node
    to: str | None = None

    def encode(self) -> str:
        fields: dict[str, Any] = {
            "v": ENVELOPE_VERSION,
            "origin": self.origin,
            "kind": self.kind,
            "target": self.target,
            "message": self.message,
        }
        if self.to is not None:
            fields["to"] = self.to
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    @classmethod
    def decode(cls, raw: bytes | str) -> Envelope:
        """Parse and check an envelope; raises ``MalformedEnvelope`` saying why."""
        try:
            parsed: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise MalformedEnvelope("not JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedEnvelope("not an object")
        if parsed.get("v") != ENVELOPE_VERSION:
            raise MalformedEnvelope("unknown version")
        origin, kind, target, message = (
            parsed.get("origin"),
            parsed.get("kind"),
            parsed.get("target"),
            parsed.get("message"),
        )
        if not isinstance(origin, str) or not origin:
            raise MalformedEnvelope("no origin")
        if kind not in _KINDS:
            raise MalformedEnvelope("unknown kind")
        if kind == "agent" and not _is_id(target):
            raise MalformedEnvelope("agent message without an agent id")
        if kind in ("wallboards", "presence", "revoke") and target is not None:
            raise MalformedEnvelope(f"{kind} message with a target")
        if kind == "snapshot" and target is not None and not _is_id(target):
            raise MalformedEnvelope("snapshot for something that is not an agent id")
        if not isinstance(message, dict):
            raise MalformedEnvelope("message is not an object")
        if kind == "presence":
            _check_presence(message)
        to = parsed.get("to")
        if to is not None and (not isinstance(to, str) or not to):
            raise MalformedEnvelope("addressed to no node")
        return cls(origin, cast(Kind, kind), target, message, to)


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_presence(message: dict[str, Any]) -> None:
    agents, wallboards = message.get("agents"), message.get("wallboards")
    if not isinstance(agents, dict) or not all(
        isinstance(key, str) and key.isdigit() and _is_id(pages) and pages > 0
        for key, pages in agents.items()
    ):
        raise MalformedEnvelope("presence without a count of pages per agent")
    if not _is_id(wallboards) or wallboards < 0:
        raise MalformedEnvelope("presence without a count of wallboards")


@dataclass(slots=True)
class _Peer:
    """What another node last said it serves, and when."""

    heard_at: float
    agents: dict[int, int] = field(default_factory=dict)
    wallboards: int = 0


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL: what may be logged (never the password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 6379
    except ValueError:
        return "unparseable redis url"
    if parts.scheme == "unix":
        return f"unix:{parts.path}"
    db = parts.path.strip("/") or "0"
    return f"{host}:{port}/{db}"


def default_node_name() -> str:
    return socket.gethostname() or "node"


@dataclass(slots=True)
class _Pending:
    text: str
    queued_at: float


class FanoutHub(Hub):
    """A ``Hub`` whose deliveries also reach the websocket clients of other nodes.

    ``run()`` (a background task for the service's lifetime) publishes what is
    queued and delivers what other nodes publish; until it runs, or while Redis
    is away, the hub is a plain local hub.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        channel: str = DEFAULT_CHANNEL,
        node: str | None = None,
        queue_size: int = 100,
        max_pending: int = 10_000,
        max_delay_s: float = 5.0,
        presence_interval_s: float = 5.0,
    ) -> None:
        super().__init__(queue_size=queue_size)
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        if presence_interval_s <= 0:
            raise ValueError("presence_interval_s must be positive")
        self._url = redis_url
        self.where = redis_location(redis_url)
        self.channel = channel
        self.node = node or default_node_name()
        #: unique to this hub instance: its own echo is recognised by it
        self.origin = f"{self.node}:{os.getpid()}:{secrets.token_hex(4)}"
        self._max_pending = max_pending
        self._max_delay_s = max_delay_s
        # deque: appended from any thread the hub is called from; drained on one loop
        self._pending: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publishing_fails = False
        self._presence_interval_s = presence_interval_s
        self._presence_moved = asyncio.Event()
        self._peers: dict[str, _Peer] = {}
        self._handlers: PeerHandlers | None = None
        #: whether other nodes may count this node's pages (it told them once)
        self._announced = False
        #: whether other nodes' messages are being received right now
        self.subscribed = False
        #: counters, for tests and operators
        self.published = 0
        self.delivered = 0
        self.dropped = 0
        self.malformed = 0

    # -- Notifier: local at once, then queued for the other nodes ---------------

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None:
        super().to_agent(agent_id, message)
        self._queue(Envelope(self.origin, "agent", agent_id, message))

    def to_wallboards(self, message: dict[str, Any]) -> None:
        super().to_wallboards(message)
        self._queue(Envelope(self.origin, "wallboards", None, message))

    def _queue(self, envelope: Envelope) -> None:
        try:
            text = envelope.encode()
        except (TypeError, ValueError):
            return  # the local delivery has logged it already
        if len(self._pending) >= self._max_pending:
            self._drop(1, "the publish queue is full")
            return
        self._pending.append(_Pending(text, time.monotonic()))
        self._wake()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None:
            return  # run() has not started: it looks at the queue first thing
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._wakeup.set)

    def _drop(self, count: int, why: str) -> None:
        before = self.dropped
        self.dropped += count
        if before == 0 or before // 1000 != self.dropped // 1000:
            log.warning(
                "hub messages not shared with other nodes",
                reason=why,
                dropped=self.dropped,
                redis=self.where,
            )

    # -- other nodes' pages -------------------------------------------------------

    def answer_peers(self, handlers: PeerHandlers) -> None:
        self._handlers = handlers

    def share_revocation(self, revocation: dict[str, Any]) -> None:
        self._queue(Envelope(self.origin, "revoke", None, revocation))

    def request_snapshot(self, agent_id: int | None) -> bool:
        if not self.subscribed:
            return False  # the answer could not reach this node
        self._queue(Envelope(self.origin, "snapshot", agent_id, {}))
        return True

    @property
    def wallboard_count(self) -> int:
        """Wallboards open here and on the other nodes (the routing node pushes
        snapshots while there is any)."""
        return super().wallboard_count + sum(peer.wallboards for peer in self._peers.values())

    @contextmanager
    def agent_subscription(self, agent_id: int) -> Iterator[Subscription]:
        try:
            with super().agent_subscription(agent_id) as subscription:
                self._presence_changed()
                yield subscription
        finally:
            self._presence_changed()

    @contextmanager
    def wallboard_subscription(self) -> Iterator[Subscription]:
        try:
            with super().wallboard_subscription() as subscription:
                self._presence_changed()
                yield subscription
        finally:
            self._presence_changed()

    def _presence_changed(self) -> None:
        self._presence_moved.set()  # subscriptions come and go on the hub's loop

    def _presence(self) -> dict[str, Any]:
        return {
            "agents": {str(agent_id): len(pages) for agent_id, pages in self._agents.items()},
            "wallboards": len(self._wallboards),
        }

    def _peer_said(self, origin: str, presence: dict[str, Any]) -> None:
        peer = self._peers.get(origin)
        before = peer.agents if peer is not None else {}
        after = {int(agent_id): pages for agent_id, pages in presence["agents"].items()}
        self._peers[origin] = _Peer(time.monotonic(), after, presence["wallboards"])
        self._desktops_moved(before, after)

    def _forget_silent_peers(self) -> None:
        silent_since = time.monotonic() - PEER_SILENCE_INTERVALS * self._presence_interval_s
        for origin, peer in tuple(self._peers.items()):
            if peer.heard_at < silent_since:
                del self._peers[origin]
                log.info("node silent: its pages taken as closed", node=origin, redis=self.where)
                self._desktops_moved(peer.agents, {})

    def _desktops_moved(self, before: dict[int, int], after: dict[int, int]) -> None:
        handlers = self._handlers
        if handlers is None:
            return
        for agent_id in before.keys() | after.keys():
            change = after.get(agent_id, 0) - before.get(agent_id, 0)
            for _ in range(abs(change)):
                if change > 0:
                    handlers.desktop_opened(agent_id)
                else:
                    handlers.desktop_closed(agent_id)

    def _answer_snapshot(self, request: Envelope) -> None:
        if self._handlers is None:
            return
        kind: Kind = "agent" if request.target is not None else "wallboards"
        for message in self._handlers.snapshot(request.target):
            self._queue(Envelope(self.origin, kind, request.target, message, to=request.origin))

    # -- from the channel --------------------------------------------------------

    def receive(self, raw: bytes | str) -> bool:
        """Deliver one message from the channel to this node's clients; returns
        whether it was delivered (not its own echo, not malformed)."""
        try:
            envelope = Envelope.decode(raw)
        except MalformedEnvelope as error:
            self.malformed += 1
            # the payload may be customer data: its size is logged, not its text
            log.warning(
                "malformed hub message from redis skipped",
                reason=str(error),
                size=len(raw),
                channel=self.channel,
            )
            return False
        if envelope.origin == self.origin:
            return False  # delivered locally when it was pushed
        if envelope.to is not None and envelope.to != self.origin:
            return False  # another node's answer
        try:
            delivered = self._deliver(envelope)
        except Exception:
            # A bug answering one node must not stop this one hearing the others.
            log.exception("hub message from another node failed", kind=envelope.kind)
            return False
        if delivered:
            self.delivered += 1
        return delivered

    def _deliver(self, envelope: Envelope) -> bool:
        if envelope.kind == "agent":
            assert envelope.target is not None
            Hub.to_agent(self, envelope.target, envelope.message)
        elif envelope.kind == "wallboards":
            Hub.to_wallboards(self, envelope.message)
        elif envelope.kind == "snapshot":
            self._answer_snapshot(envelope)
        elif envelope.kind == "revoke":
            if self._handlers is not None and not self._handlers.revoked(envelope.message):
                self.malformed += 1
                log.warning("malformed session revocation from redis skipped", node=envelope.origin)
                return False
        else:
            self._peer_said(envelope.origin, envelope.message)
        return True

    # -- the background task ----------------------------------------------------

    async def run(self) -> None:
        """Publish and subscribe until cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wakeup.set()  # messages queued before the start
        # No retries inside redis-py: reconnecting is done (and logged) here.
        client = Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=5,
            socket_timeout=5,
            socket_keepalive=True,
            health_check_interval=10,
        )
        log.info("hub fan-out starting", redis=self.where, channel=self.channel, node=self.origin)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._publish_forever(client), name="hub-fanout-publish")
                tasks.create_task(self._receive_forever(client), name="hub-fanout-receive")
                tasks.create_task(self._presence_forever(), name="hub-fanout-presence")
        except Exception:
            log.exception("hub fan-out failed: this node's clients get its own messages only")
            raise
        finally:
            if self._announced:
                # This node's pages are about to close: other nodes need not wait.
                self._queue(
                    Envelope(self.origin, "presence", None, {"agents": {}, "wallboards": 0})
                )
            try:
                await asyncio.wait_for(self._flush(client), FLUSH_ON_STOP_S)
            except (TimeoutError, *_FAILURES):
                if self._pending:
                    self._drop(len(self._pending), "stopping")
            await client.aclose()
            log.info("hub fan-out stopped", redis=self.where)

    async def _publish_forever(self, client: Redis) -> None:
        while True:
            item = self._take_fresh()
            if item is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._publish(client, item)

    def _take_fresh(self) -> _Pending | None:
        """The oldest queued message still worth publishing (older ones dropped)."""
        stale = 0
        now = time.monotonic()
        while self._pending:
            item = self._pending.popleft()
            if now - item.queued_at <= self._max_delay_s:
                if stale:
                    self._drop(stale, "redis unreachable for too long")
                return item
            stale += 1
        if stale:
            self._drop(stale, "redis unreachable for too long")
        return None

    async def _publish(self, client: Redis, item: _Pending) -> None:
        def too_old(state: RetryCallState) -> bool:
            return time.monotonic() - item.queued_at > self._max_delay_s

        def before_sleep(state: RetryCallState) -> None:
            if not self._publishing_fails:
                self._publishing_fails = True
                log.warning(
                    "redis unreachable: hub messages reach this node's clients only",
                    redis=self.where,
                    error=_error_name(state),
                )

        try:
            async for attempt in AsyncRetrying(
                stop=too_old,
                wait=wait_exponential(multiplier=0.2, max=MAX_BACKOFF_S),
                retry=retry_if_exception_type(_FAILURES),
                before_sleep=before_sleep,
            ):
                with attempt:
                    await client.publish(self.channel, item.text)
        except RetryError:
            self._drop(1, "redis unreachable for too long")
            return
        self.published += 1
        if self._publishing_fails:
            self._publishing_fails = False
            log.info("redis reachable again: hub messages shared", redis=self.where)

    async def _receive_forever(self, client: Redis) -> None:
        while True:
            pubsub = await _with_backoff(
                lambda: self._subscribe(client), "hub fan-out cannot subscribe", self.where
            )
            log.info("hub fan-out subscribed", redis=self.where, channel=self.channel)
            self.subscribed = True
            self._presence_changed()  # other nodes may have missed changes meanwhile
            try:
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=RECEIVE_TIMEOUT_S
                    )
                    if message is not None and message.get("type") == "message":
                        self.receive(message["data"])
            except _FAILURES as error:
                log.warning(
                    "hub fan-out subscription lost, reconnecting: other nodes' messages "
                    "are missed meanwhile",
                    redis=self.where,
                    error=type(error).__name__,
                )
            finally:
                self.subscribed = False
                await _quietly_close(pubsub)
            await asyncio.sleep(0.2)  # a flapping server is not hammered

    async def _presence_forever(self) -> None:
        """Tell the other nodes what pages this one serves: on a change (settled
        for a moment) and every interval; forget the nodes gone silent."""
        while True:
            if self.subscribed:
                self._queue(Envelope(self.origin, "presence", None, self._presence()))
                self._announced = True
            self._forget_silent_peers()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._presence_interval_s):
                    await self._presence_moved.wait()
            await asyncio.sleep(PRESENCE_SETTLE_S)
            self._presence_moved.clear()

    async def _subscribe(self, client: Redis) -> PubSub:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await _quietly_close(pubsub)
            raise
        return pubsub

    async def _flush(self, client: Redis) -> None:
        while (item := self._take_fresh()) is not None:
            await client.publish(self.channel, item.text)
            self.published += 1


async def _with_backoff(connect: Callable[[], Awaitable[PubSub]], what: str, where: str) -> PubSub:
    """``connect()`` until it succeeds, waiting 0.2 s doubling up to
    ``MAX_BACKOFF_S`` between tries, one log line per try."""

    def before_sleep(state: RetryCallState) -> None:
        log.warning(
            what,
            redis=where,
            attempt=state.attempt_number,
            retry_in_s=round(state.upcoming_sleep, 2),
            error=_error_name(state),
        )

    async for attempt in AsyncRetrying(
        wait=wait_exponential(multiplier=0.2, max=MAX_BACKOFF_S),
        retry=retry_if_exception_type(_FAILURES),
        before_sleep=before_sleep,
    ):
        with attempt:
            return await connect()
    raise AssertionError("unreachable: retried until it succeeds")


async def _quietly_close(pubsub: PubSub) -> None:
    with contextlib.suppress(*_FAILURES):
        await pubsub.aclose()


def _error_name(state: RetryCallState) -> str | None:
    """The failure's type only: a message could quote the URL."""
    error = state.outcome.exception() if state.outcome is not None else None
    return type(error).__name__ if error is not None else None
