"""API requests reaching a node that does not route are handed to the one that does.

Why: with ``ha_enabled`` several nodes serve the pages and websockets (API
nodes behind one load balancer), but only the leader has a router. A command
that lands on another node (Ready, hold, a rule edit, a report) is sent on to
the leader over HTTP as it came (method, path, body, cookie or token, Host),
and the leader's answer is streamed back unchanged: the leader checks the login,
the role and the Origin itself, exactly as if the browser had called it. Only
signing in and out (``LOCAL_PATHS``) is answered where it lands: every node
shares the database and the session secret, and the login throttle must see the
browser's address, not a node's.

Everything under ``/api/`` is forwarded, not just what needs the router: a
route that writes the database and then tells the router would otherwise be
half done on a node without one, and recordings live on the leader's disk.

The leader must know who really asked (the audit trail, the login throttle) and
over which scheme (the Origin check): the forwarding node adds the browser's
address, the scheme and the time, signed with a key derived from the session
secret. A node accepts those headers only with a valid signature less than
``MAX_SKEW_S`` old, and strips them from every other request, so a browser
cannot claim another address. A request that was forwarded once is never
forwarded again (two nodes that both think the other leads answer 503).

When no leader is advertised, or it does not answer, the request is served
here: what needs the router answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.metrics import FORWARDED_REQUESTS

log = structlog.get_logger(__name__)

LOCAL_PATHS = frozenset({"/api/login", "/api/token", "/api/logout", "/api/me"})
FORWARDED_FOR = b"x-callcenter-forwarded-for"
FORWARDED_PROTO = b"x-callcenter-forwarded-proto"
FORWARDED_AT = b"x-callcenter-forwarded-at"
FORWARDED_SIGNATURE = b"x-callcenter-forwarded-signature"
_OURS = frozenset({FORWARDED_FOR, FORWARDED_PROTO, FORWARDED_AT, FORWARDED_SIGNATURE})
#: how old a forwarded request's signature may be (clocks of nodes differ a little)
MAX_SKEW_S = 30.0
#: the largest request body forwarded (rule documents are the biggest)
MAX_BODY_BYTES = 2 * 1024 * 1024
#: headers of one connection, not of the message (RFC 9110 7.6.1): not passed on
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
#: the request's length is set again by the client that forwards it
_NOT_FORWARDED = _HOP_BY_HOP | {b"content-length"}


class LeaderLookup(Protocol):
    async def leader_url(self) -> str | None: ...

    def forget(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Forwarding:
    """When and where this node forwards."""

    lookup: LeaderLookup
    #: whether this node routes itself right now (then nothing is forwarded)
    routes_here: Callable[[], bool]
    #: this node's own advertised URL: never forwarded to
    own_url: str | None = None
    #: no redirects followed, no proxies from the environment: one hop, to the leader
    http: httpx.AsyncClient = field(
        default_factory=lambda: httpx.AsyncClient(timeout=30.0, trust_env=False)
    )


def forwarding_key(session_secret: str) -> bytes:
    """The signing key: derived, so the session secret itself never signs this."""
    return hmac.new(
        session_secret.encode(), b"callcenter: requests forwarded between nodes", hashlib.sha256
    ).digest()


def signature(key: bytes, method: str, target: str, client: str, scheme: str, at: str) -> str:
    text = "\n".join((method, target, client, scheme, at)).encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()


class NodeForwarding:
    """ASGI middleware: adopts verified forwarded headers; forwards when this node
    does not route (``forwarding`` given)."""

    def __init__(self, app: ASGIApp, *, key: bytes, forwarding: Forwarding | None) -> None:
        self.app = app
        self._key = key
        self._forwarding = forwarding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        forwarded = self._adopt(scope)
        forwarding = self._forwarding
        if (
            forwarded
            or forwarding is None
            or scope["type"] != "http"
            or not _forwarded_path(scope["path"])
            or forwarding.routes_here()
        ):
            await self.app(scope, receive, send)
            return
        leader = await forwarding.lookup.leader_url()
        if leader is None or leader == forwarding.own_url:
            await self.app(scope, receive, send)
            return
        await self._forward(scope, receive, send, leader, forwarding)

    def _adopt(self, scope: Scope) -> bool:
        """Strip this module's headers; if they were validly signed, take the
        browser's address and scheme from them. Whether the request was forwarded."""
        ours = {name: value for name, value in scope["headers"] if name in _OURS}
        if not ours:
            return False
        scope["headers"] = [(name, value) for name, value in scope["headers"] if name not in _OURS]
        if scope["type"] != "http":
            return False  # websockets are never forwarded: whoever sends these made them up
        try:
            client = ours[FORWARDED_FOR].decode("ascii")
            scheme = ours[FORWARDED_PROTO].decode("ascii")
            at = ours[FORWARDED_AT].decode("ascii")
            given = ours[FORWARDED_SIGNATURE].decode("ascii")
            fresh = abs(time.time() - float(at)) <= MAX_SKEW_S
        except (KeyError, UnicodeDecodeError, ValueError):
            fresh = False
        if not fresh or scheme not in ("http", "https"):
            log.warning("forwarding headers without a valid signature ignored")
            return False
        expected = signature(self._key, scope["method"], _target(scope), client, scheme, at)
        if not hmac.compare_digest(expected, given):
            log.warning("forwarding headers without a valid signature ignored")
            return False
        scope["client"] = (client, 0)
        scope["scheme"] = scheme
        return True

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, leader: str, forwarding: Forwarding
    ) -> None:
        body = await _read_body(receive)
        if body is None:
            await _answer(send, 413, b'{"detail":"request body too large"}')
            return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        scheme = scope.get("scheme", "http")
        at = f"{time.time():.3f}"
        target = _target(scope)
        headers = [(name, value) for name, value in scope["headers"] if name not in _NOT_FORWARDED]
        headers += [
            (FORWARDED_FOR, address.encode()),
            (FORWARDED_PROTO, scheme.encode()),
            (FORWARDED_AT, at.encode()),
            (
                FORWARDED_SIGNATURE,
                signature(self._key, scope["method"], target, address, scheme, at).encode(),
            ),
        ]
        http = forwarding.http
        request = http.build_request(
            scope["method"], leader + target, headers=headers, content=body
        )
        try:
            response = await http.send(request, stream=True)
        except httpx.HTTPError as error:
            FORWARDED_REQUESTS.labels(outcome="unreachable").inc()
            forwarding.lookup.forget()
            log.warning(
                "the leading node did not answer", leader=leader, error=type(error).__name__
            )
            await _answer(
                send,
                503,
                b'{"detail":"the node that routes calls did not answer; try again"}',
                retry_after=True,
            )
            return
        FORWARDED_REQUESTS.labels(outcome="answered").inc()
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name, value)
                        for name, value in response.headers.raw
                        if name.lower() not in _HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _forwarded_path(path: str) -> bool:
    return path.startswith("/api/") and path not in LOCAL_PATHS


def _target(scope: Scope) -> str:
    """The path as the browser sent it, with its query."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    query = scope.get("query_string", b"")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None once it passes ``MAX_BODY_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, *, retry_after: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", b"2"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
