"""What every route of the web app needs, kept on ``app.state.web``.

Routes reach it through the request rather than through module globals, so one
process can hold several apps (tests build one per test) and nothing exists
before ``create_web_app`` runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from starlette.requests import HTTPConnection

from callcenter.db.audit import AuditTrail
from callcenter.db.session import Sessions as Database
from callcenter.ports import Authenticator, CallCenterDesk, SupervisionLog
from callcenter.settings import ReportSettings
from callcenter.web.auth import LoginThrottle, Sessions
from callcenter.web.desktop_presence import DesktopPresence
from callcenter.web.forwarding import Forwarding
from callcenter.web.hub import Hub
from recordings import RecordingStore

Readiness = Callable[[], Awaitable[dict[str, bool]]]


@dataclass(frozen=True, slots=True)
class WebContext:
    desk: CallCenterDesk
    hub: Hub
    authenticate: Authenticator
    sessions: Sessions
    throttle: LoginThrottle
    #: origins allowed besides the request's own (lower case, no trailing slash)
    allowed_origins: frozenset[str]
    readiness: Readiness | None
    #: seconds between wallboard snapshots pushed while a wallboard is open
    wallboard_interval_s: float
    #: the supervision audit trail, read by admins (None: not available)
    supervision_log: SupervisionLog | None = None
    #: the database, for what admins edit and history readers read (None: the
    #: admin and history APIs answer 503)
    database: Database | None = None
    #: logins, role changes, rule edits, pauses, pop views... (None: not kept)
    audit: AuditTrail | None = None
    #: where recordings are kept (None: the recordings API answers 503)
    recordings: RecordingStore | None = None
    #: makes an agent whose desktop is gone Not Ready after a grace period
    #: (None: agents' states never depend on their pages)
    presence: DesktopPresence | None = None
    #: the region caller numbers not in E.164 are read in (a contact created from a pop)
    default_region: str = "US"
    #: how the reports count (time zone, window, short abandons...)
    reports: ReportSettings = field(default_factory=ReportSettings)
    #: where commands go when this node does not route (None: one node, or no
    #: leader address shared: a node without a router answers 503)
    forwarding: Forwarding | None = None


def web_context(conn: HTTPConnection) -> WebContext:
    return cast(WebContext, conn.app.state.web)
