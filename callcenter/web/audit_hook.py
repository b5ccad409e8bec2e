"""Writing one row of the audit trail from a request: who, from where, what.

The row is written before the answer goes back, so an admin reading the trail
right after an edit finds it. A trail that cannot be written is logged at error
level with what it would have said (never a password or a token: callers pass
names and ids only) and the request still succeeds: refusing every login while
the database hiccups would stop the call center for the sake of its log.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from starlette.requests import HTTPConnection

from callcenter.db.audit import AuditEvent
from callcenter.ports import Principal
from callcenter.web.context import web_context

log = structlog.get_logger(__name__)


def client_address(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


async def audit(
    conn: HTTPConnection,
    action: str,
    target: str = "",
    *,
    principal: Principal | None = None,
    username: str | None = None,
    **detail: object,
) -> None:
    """Record ``action`` on ``target`` by ``principal`` (or an unauthenticated
    ``username``, for a failed login)."""
    trail = web_context(conn).audit
    if trail is None:
        return
    event = AuditEvent(
        at=datetime.now(UTC),
        username=principal.username if principal is not None else (username or "")[:64],
        action=action,
        target=target[:128],
        detail=detail,
        user_id=principal.user_id if principal is not None else None,
        address=client_address(conn),
    )
    try:
        await trail.record(event)
    except Exception:
        log.exception(
            "audit event not written",
            action=action,
            target=event.target,
            username=event.username,
            detail=detail,
        )
