"""``create_web_app``: the FastAPI app for agents' and supervisors' browsers.

It knows the call center only through ``callcenter.ports`` (a desk to ask, a hub
to listen to, an authenticator), so the composition root decides what stands
behind them and tests pass small fakes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from callcenter.db.audit import AuditTrail
from callcenter.db.session import Sessions as Database
from callcenter.ports import Authenticator, CallCenterDesk, DeskUnavailable, SupervisionLog
from callcenter.settings import ReportSettings
from callcenter.web.auth import LoginThrottle, Sessions
from callcenter.web.context import Readiness, WebContext
from callcenter.web.desktop_presence import DesktopPresence
from callcenter.web.forwarding import Forwarding, NodeForwarding, forwarding_key
from callcenter.web.hub import Hub, PeerHandlers
from callcenter.web.routes_admin import admin_router
from callcenter.web.routes_api import api_router
from callcenter.web.routes_calls import calls_router
from callcenter.web.routes_codes import codes_router
from callcenter.web.routes_crm import crm_router
from callcenter.web.routes_docs import SWAGGER_UI_DIR, docs_router
from callcenter.web.routes_health import health_router
from callcenter.web.routes_history import history_router
from callcenter.web.routes_pages import STATIC_DIR, pages_router
from callcenter.web.routes_recordings import recordings_router
from callcenter.web.routes_reports import reports_router
from callcenter.web.routes_rules import rules_router
from callcenter.web.routes_ws import ws_router
from callcenter.web.security_headers import SecurityHeaders
from callcenter.web.snapshots import snapshots_of
from callcenter.web.wallboard_feed import push_wallboards
from recordings import RecordingStore

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

API_DESCRIPTION = """
Every endpoint needs a login: the session cookie the pages get from
`POST /api/login`, or for API clients a bearer token from `POST /api/token`
(`Authorization: Bearer <token>`). Each route names the roles it admits (agent,
supervisor, admin); anything else gets 401 (not logged in) or 403 (wrong role).
Invalid input gets 422 with `detail: [{field, reason}]`.
"""


def create_web_app(
    *,
    desk: CallCenterDesk,
    hub: Hub,
    authenticate: Authenticator,
    session_secret: str,
    allowed_origins: Sequence[str] = (),
    readiness: Readiness | None = None,
    lifespan: Lifespan | None = None,
    wallboard_interval_s: float = 1.0,
    login_throttle: LoginThrottle | None = None,
    supervision_log: SupervisionLog | None = None,
    database: Database | None = None,
    audit: AuditTrail | None = None,
    recordings: RecordingStore | None = None,
    desktop_grace_s: float | None = 60.0,
    default_region: str = "US",
    reports: ReportSettings | None = None,
    forwarding: Forwarding | None = None,
) -> FastAPI:
    presence = None if desktop_grace_s is None else DesktopPresence(desk, desktop_grace_s)
    context = WebContext(
        desk=desk,
        hub=hub,
        authenticate=authenticate,
        sessions=Sessions(session_secret),
        throttle=login_throttle or LoginThrottle(),
        allowed_origins=frozenset(origin.rstrip("/").lower() for origin in allowed_origins),
        readiness=readiness,
        wallboard_interval_s=wallboard_interval_s,
        supervision_log=supervision_log,
        database=database,
        audit=audit,
        recordings=recordings,
        presence=presence,
        default_region=default_region,
        reports=reports or ReportSettings(),
        forwarding=forwarding,
    )
    hub.answer_peers(
        PeerHandlers(
            snapshot=snapshots_of(desk),
            desktop_opened=presence.opened if presence is not None else _ignore,
            desktop_closed=presence.closed if presence is not None else _ignore,
            revoked=context.sessions.apply_revocation,
        )
    )
    context.sessions.on_revoke = hub.share_revocation
    app = FastAPI(
        title="callcenter",
        summary="ACD for Asterisk: agents, queues, routing rules, live calls and call control",
        description=API_DESCRIPTION,
        lifespan=_with_wallboard_feed(lifespan),
        # /docs is served from files on this machine (no CDN; the CSP allows
        # none), see ``routes_docs``.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.web = context
    app.add_exception_handler(RequestValidationError, _invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(DeskUnavailable, _no_router)  # type: ignore[arg-type]
    app.add_middleware(SecurityHeaders)
    # Outermost: a forwarded answer is the leader's, security headers included.
    app.add_middleware(NodeForwarding, key=forwarding_key(session_secret), forwarding=forwarding)
    app.include_router(health_router())
    app.include_router(api_router())
    app.include_router(calls_router())
    app.include_router(crm_router())
    app.include_router(rules_router())
    app.include_router(admin_router())
    app.include_router(codes_router())
    app.include_router(history_router())
    app.include_router(recordings_router())
    app.include_router(reports_router())
    app.include_router(docs_router())
    app.include_router(ws_router())
    app.include_router(pages_router())
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    return app


def _with_wallboard_feed(
    outer: Lifespan | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The caller's lifespan, plus the wallboard feed running inside it (so the feed
    stops before whatever the desk depends on); what the web app holds itself is
    let go as it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if outer is not None:
                await stack.enter_async_context(outer(app))
            context = web_context_of(app)
            feed = asyncio.create_task(
                push_wallboards(context.desk, context.hub, context.wallboard_interval_s),
                name="wallboard-feed",
            )
            try:
                yield
            finally:
                feed.cancel()
                await asyncio.gather(feed, return_exceptions=True)
                if context.presence is not None:
                    context.presence.close()
                if context.forwarding is not None:
                    await context.forwarding.http.aclose()

    return lifespan


def _ignore(agent_id: int) -> None:
    """Desktops opened elsewhere matter to nobody here (presence is off)."""


def web_context_of(app: FastAPI) -> WebContext:
    context: WebContext = app.state.web
    return context


async def _no_router(request: Request, exc: DeskUnavailable) -> JSONResponse:
    """503 with the reason (starting, or a standby), and when to try again: a
    client that retries through the load balancer reaches the leader."""
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "2"},
    )


async def _invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming each bad field and why, without echoing the input back (it may be
    a password)."""
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        field = ".".join(part for part in location if part not in ("body", "query", "path"))
        errors.append({"field": field or "body", "reason": error.get("msg", "invalid")})
    return JSONResponse({"detail": errors}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
