"""The web app over a real database (admin, rules, history and audit routes do
their real work) with the fake desk standing in for live call state.

Tokens are minted with the app's secret, as ``POST /api/token`` would mint them,
so a test can act as any principal without a user row and a password hash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from agents import AgentState
from callcenter.db.audit import AuditTrail
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.supervision import SupervisionAudit
from callcenter.db.users import make_authenticator
from callcenter.ports import AgentView, Principal
from callcenter.settings import ReportSettings
from callcenter.web import Hub, create_web_app
from callcenter.web.auth import Sessions
from tests.web_fakes import FakeDesk

SECRET = "app-over-db-secret-0123456789"
NOW = 1_700_000_000.0


def build_app_over_db(
    url: str, desk: FakeDesk | None = None, *, reports: ReportSettings | None = None
) -> FastAPI:
    """The app on ``url`` (migrated already). The default desk has agent 1
    Ready, so an agent principal linked to agent 1 has a live view."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Disposed on the loop that used it (aiosqlite complains otherwise).
        try:
            yield
        finally:
            await engine.dispose()

    if desk is None:
        desk = FakeDesk([AgentView(1, "agent1", "Agent One", AgentState.READY, since=NOW)], now=NOW)
    return create_web_app(
        desk=desk,
        hub=Hub(),
        authenticate=make_authenticator(sessions),
        session_secret=SECRET,
        wallboard_interval_s=3600.0,
        database=sessions,
        audit=AuditTrail(sessions),
        supervision_log=SupervisionAudit(sessions),
        lifespan=lifespan,
        reports=reports,
    )


def token_for(principal: Principal, *, secret: str = SECRET) -> str:
    return Sessions(secret).issue(principal)
