"""Who may do what: the session's principal, role checks and the Origin check.

Why the Origin check exists beside SameSite cookies: browsers attach cookies to a
websocket handshake from any page (cross-site websocket hijacking) and CORS does
not apply to websockets, so the server must compare Origin itself. A request
without Origin does not come from a page script (browsers always send it on
websockets and cross-site POSTs), so it cannot ride a victim's cookie and is let
through to the normal session check.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request, status
from starlette.requests import HTTPConnection

from callcenter.ports import Principal, Role
from callcenter.web.auth import SESSION_COOKIE
from callcenter.web.context import web_context


def principal_of(conn: HTTPConnection) -> Principal | None:
    """The user behind a bearer token (API clients) or the session cookie (pages).

    A request that sends ``Authorization`` is judged by it alone: a bad token is
    not rescued by a cookie the same client happens to carry."""
    sessions = web_context(conn).sessions
    authorization = conn.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return sessions.read(token.strip())
    return sessions.read(conn.cookies.get(SESSION_COOKIE))


def has_any_role(principal: Principal, roles: tuple[Role, ...]) -> bool:
    return any(principal.has(role) for role in roles)


def require_roles(*roles: Role) -> Callable[[Request], Principal]:
    """A dependency: the logged-in principal, 401 without a session, 403 without
    one of ``roles``."""

    def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in")
        if not has_any_role(principal, roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"needs the role {' or '.join(role.value for role in roles)}",
            )
        return principal

    return dependency


def require_login(request: Request) -> Principal:
    principal = principal_of(request)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not logged in")
    return principal


def own_origin(conn: HTTPConnection) -> str:
    secure = conn.url.scheme in ("https", "wss")
    return f"{'https' if secure else 'http'}://{conn.headers.get('host', '')}".lower()


def origin_allowed(conn: HTTPConnection) -> bool:
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/").lower()
    return origin == own_origin(conn) or origin in web_context(conn).allowed_origins


def check_origin(request: Request) -> None:
    """A dependency for state-changing requests: refuse a foreign page's POST."""
    if not origin_allowed(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "origin not allowed")
