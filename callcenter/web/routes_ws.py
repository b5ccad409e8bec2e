"""The two websockets: an agent's own feed and the supervisors' wallboard feed.

Each connection is checked at the handshake (Origin, session cookie, role) and
refused before ``accept`` so nothing is sent to a stranger. After that one task
writes (draining the connection's hub queue) and one task reads (pings only, size
and rate limited); whichever stops first ends the connection, so a stalled
browser never holds anything but its own task.

On a node that does not route (an API node beside the leader, see
``callcenter.web.forwarding``) a page is accepted as long as a leader is
advertised and the hub is shared: the node asks the leader for the page's
picture (``Hub.request_snapshot``), which arrives as pushes, and the leader's
pushes follow through the hub. A supervisor scoped to some queues gets the
leader's scoped board over HTTP on the same beat. With no leader known the page
is told to try again (1013).

Close codes the pages act on: 4401 not logged in, 4403 wrong role (both: go to
the login page), 1008 policy (foreign Origin, flooding), 1009 frame too big, 1013
too slow to keep up (reconnect and start from a fresh snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from callcenter.metrics import WEBSOCKET_CLIENTS
from callcenter.ports import DeskUnavailable, Principal, Role
from callcenter.web.context import WebContext, web_context
from callcenter.web.guards import has_any_role, origin_allowed, principal_of
from callcenter.web.hub import SlowConsumer, Subscription, encode
from callcenter.web.scope import scoped_wallboard
from callcenter.web.snapshots import agent_snapshot, wallboard_message

log = structlog.get_logger(__name__)

CLOSE_NOT_LOGGED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011
CLOSE_TRY_AGAIN = 1013

#: Browsers only send pings; anything bigger is not ours.
MAX_FRAME_CHARS = 4096
#: A page pings every ~25 s; this many frames in the window is a misbehaving client.
MAX_FRAMES_PER_WINDOW = 30
FRAME_WINDOW_S = 10.0


#: how long a page opened on a node without a router waits for the leader's picture
LEADER_ANSWER_S = 5.0
#: one scoped wallboard message, or None when there is none to show this time
Board = Callable[[], Awaitable[dict[str, Any] | None]]


class _FrameTooBig(Exception):
    pass


class _Flooding(Exception):
    pass


def ws_router() -> APIRouter:
    router = APIRouter()
    router.add_api_websocket_route("/ws/agent", agent_socket)
    router.add_api_websocket_route("/ws/wallboard", wallboard_socket)
    # The same feed under the name the API documents for supervisors' clients.
    router.add_api_websocket_route("/ws/supervisor", wallboard_socket)
    return router


async def agent_socket(websocket: WebSocket) -> None:
    principal = await _admit(websocket, (Role.AGENT,))
    if principal is None:
        return
    agent_id = principal.agent_id
    if agent_id is None:
        await websocket.close(code=CLOSE_FORBIDDEN, reason="user is not an agent")
        return
    context = web_context(websocket)
    # Subscribe before reading the state so no push falls between the two.
    with context.hub.agent_subscription(agent_id) as subscription:
        try:
            snapshot = [encode(message) for message in agent_snapshot(context.desk, agent_id)]
        except KeyError:
            await websocket.close(code=CLOSE_FORBIDDEN, reason="unknown agent")
            return
        except DeskUnavailable as exc:
            if not await _picture_from_leader(context, agent_id):
                await websocket.close(code=CLOSE_TRY_AGAIN, reason=str(exc)[:120])
                return
            snapshot = None  # on its way from the leader, through the hub
        if not await _open_with(websocket, subscription, snapshot):
            return
        log.info("agent page connected", agent_id=agent_id)
        if context.presence is not None:
            context.presence.opened(agent_id)
        try:
            await _relay(websocket, subscription, "agent")
        finally:
            if context.presence is not None:
                context.presence.closed(agent_id)
        log.info("agent page disconnected", agent_id=agent_id)


async def wallboard_socket(websocket: WebSocket) -> None:
    principal = await _admit(websocket, (Role.SUPERVISOR, Role.ADMIN))
    if principal is None:
        return
    context = web_context(websocket)
    if not principal.sees_queue(None):
        await _scoped_wallboard(websocket, principal)
        return
    with context.hub.wallboard_subscription() as subscription:
        try:
            snapshot: list[str] | None = [encode(wallboard_message(context.desk.wallboard()))]
        except DeskUnavailable as exc:
            if not await _picture_from_leader(context, None):
                await websocket.close(code=CLOSE_TRY_AGAIN, reason=str(exc)[:120])
                return
            snapshot = None  # on its way from the leader, through the hub
        if await _open_with(websocket, subscription, snapshot):
            await _relay(websocket, subscription, "wallboard")


async def _open_with(
    websocket: WebSocket, subscription: Subscription, snapshot: list[str] | None
) -> bool:
    """Accept and send the page's picture: ``snapshot``, or (None) the first push
    from the leader, asked for already. A leader that does not answer within
    ``LEADER_ANSWER_S`` (it died, its address not yet expired) closes the page
    with 1013, to try again, rather than leave it live with nothing on it."""
    await websocket.accept()
    if snapshot is None:
        try:
            snapshot = [await asyncio.wait_for(subscription.next(), LEADER_ANSWER_S)]
        except (TimeoutError, SlowConsumer):
            await websocket.close(code=CLOSE_TRY_AGAIN, reason="the leading node did not answer")
            return False
    for message in snapshot:
        await websocket.send_text(message)
    return True


async def _picture_from_leader(context: WebContext, agent_id: int | None) -> bool:
    """On a node with no router: ask the leader for the page's picture; whether
    it can come (a leader is advertised and the hub is shared)."""
    return await _leader_elsewhere(context) is not None and context.hub.request_snapshot(agent_id)


async def _leader_elsewhere(context: WebContext) -> str | None:
    forwarding = context.forwarding
    if forwarding is None:
        return None
    leader = await forwarding.lookup.leader_url()
    return None if leader == forwarding.own_url else leader


async def _scoped_wallboard(websocket: WebSocket, principal: Principal) -> None:
    """A supervisor of some queues only: the shared snapshot (encoded once for
    every wallboard) shows other teams' callers, so this connection gets its
    own, filtered, on the same beat; on a node with no router, the leader's
    ``/api/wallboard`` (scoped there) asked with this page's credentials."""
    context = web_context(websocket)
    board: Board
    try:
        context.desk.wallboard()
        board = _local_board(context, principal)
    except DeskUnavailable as exc:
        if await _leader_elsewhere(context) is None:
            await websocket.close(code=CLOSE_TRY_AGAIN, reason=str(exc)[:120])
            return
        board = _leader_board(context, websocket)
    subscription = context.hub.own_subscription()
    await websocket.accept()

    async def feed() -> None:
        while True:
            message = await board()
            if message is not None:
                subscription.push(encode(message))
            await asyncio.sleep(context.wallboard_interval_s)

    feeding = asyncio.create_task(feed(), name="scoped-wallboard")
    try:
        await _relay(websocket, subscription, "wallboard")
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)


def _local_board(context: WebContext, principal: Principal) -> Board:
    async def board() -> dict[str, Any] | None:
        return wallboard_message(scoped_wallboard(context.desk.wallboard(), principal))

    return board


def _leader_board(context: WebContext, websocket: WebSocket) -> Board:
    """The scoped board as the leader serves it to this page's user (None while
    the leader cannot be reached or refuses: the page keeps its last board)."""
    assert context.forwarding is not None
    http = context.forwarding.http
    credentials = {
        name: value
        for name, value in websocket.headers.items()
        if name in ("authorization", "cookie", "host")
    }

    async def board() -> dict[str, Any] | None:
        leader = await _leader_elsewhere(context)
        if leader is None:
            return None
        try:
            answer = await http.get(f"{leader}/api/wallboard", headers=credentials)
        except httpx.HTTPError:
            return None
        if answer.status_code != 200:
            return None
        message: dict[str, Any] = answer.json()
        return message

    return board


async def _admit(websocket: WebSocket, roles: tuple[Role, ...]) -> Principal | None:
    if not origin_allowed(websocket):
        log.warning("websocket from a foreign origin refused", origin=websocket.headers["origin"])
        await websocket.close(code=CLOSE_POLICY, reason="origin not allowed")
        return None
    principal = principal_of(websocket)
    if principal is None:
        await websocket.close(code=CLOSE_NOT_LOGGED_IN, reason="not logged in")
        return None
    if not has_any_role(principal, roles):
        await websocket.close(code=CLOSE_FORBIDDEN, reason="role not allowed")
        return None
    return principal


async def _relay(websocket: WebSocket, subscription: Subscription, kind: str) -> None:
    """Carry pushes to the browser and its pings back until one side stops;
    counted in ``callcenter_websocket_clients`` by page ``kind`` meanwhile."""
    clients = WEBSOCKET_CLIENTS.labels(kind=kind)
    clients.inc()
    writer = asyncio.create_task(_write(websocket, subscription))
    reader = asyncio.create_task(_read(websocket, subscription))
    try:
        done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also when the server shuts down and cancels this handler mid-wait.
        writer.cancel()
        reader.cancel()
        clients.dec()
    # asyncio.wait, not gather: should this handler be cancelled meanwhile, the
    # CancelledError raised is its own, which the server's cancel scope expects.
    await asyncio.wait({writer, reader})
    first = next(iter(done))
    for task in (writer, reader):
        if task is not first and not task.cancelled():
            task.exception()  # retrieved so a second failure is not reported as lost
    code = _close_code(first)
    if code is not None:
        with contextlib.suppress(Exception):  # the peer may be gone already
            await websocket.close(code=code)


def _close_code(task: asyncio.Task[None]) -> int | None:
    """How to end the connection, given the task that stopped first."""
    error = task.exception()
    if error is None or isinstance(error, WebSocketDisconnect | OSError):
        return None  # the browser left (a send to a vanished peer raises OSError)
    if isinstance(error, SlowConsumer):
        return CLOSE_TRY_AGAIN
    if isinstance(error, _FrameTooBig):
        return CLOSE_TOO_BIG
    if isinstance(error, _Flooding):
        return CLOSE_POLICY
    log.error("websocket failed", exc_info=error)
    return CLOSE_SERVER_ERROR


async def _write(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        await websocket.send_text(await subscription.next())


async def _read(websocket: WebSocket, subscription: Subscription) -> None:
    recent: deque[float] = deque()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        now = time.monotonic()
        recent.append(now)
        while recent and recent[0] <= now - FRAME_WINDOW_S:
            recent.popleft()
        if len(recent) > MAX_FRAMES_PER_WINDOW:
            raise _Flooding
        frame = message.get("text") or message.get("bytes") or ""
        if len(frame) > MAX_FRAME_CHARS:
            raise _FrameTooBig
        if _frame_type(frame) == "ping":
            subscription.push(encode({"type": "pong"}))


def _frame_type(frame: str | bytes) -> str | None:
    try:
        parsed: Any = json.loads(frame)
    except ValueError:
        return None
    return parsed.get("type") if isinstance(parsed, dict) else None
