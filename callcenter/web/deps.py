"""The dependencies every API route picks from: who is asking (by role), and the
database for routes that read or edit stored data."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from callcenter.db.session import Sessions
from callcenter.ports import Principal, Role
from callcenter.web.context import web_context
from callcenter.web.guards import require_login, require_roles

AgentPrincipal = Annotated[Principal, Depends(require_roles(Role.AGENT))]
SupervisorPrincipal = Annotated[Principal, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AnyPrincipal = Annotated[Principal, Depends(require_login)]


def database(request: Request) -> Sessions:
    """The database, or 503 when this app was built without one."""
    sessions = web_context(request).database
    if sessions is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the database is not available")
    return sessions


Database = Annotated[Sessions, Depends(database)]
