"""The HTML pages: plain files from ``static/``, no build step, no CDN.

The agent and wallboard pages are checked here as well as by their APIs, so an
unauthenticated visitor lands on the login form (and comes back afterwards)
instead of seeing an empty page that fails on its first fetch.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response

from callcenter.ports import Role
from callcenter.web.guards import has_any_role, principal_of

STATIC_DIR = Path(__file__).parent / "static"


def pages_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/", index, methods=["GET"])
    router.add_api_route("/login", login_page, methods=["GET"])
    router.add_api_route("/agent", agent_page, methods=["GET"])
    router.add_api_route("/wallboard", wallboard_page, methods=["GET"])
    router.add_api_route("/admin", admin_page, methods=["GET"])
    router.add_api_route("/reports", reports_page, methods=["GET"])
    return router


async def index() -> Response:
    return _page("index.html")


async def login_page() -> Response:
    return _page("login.html")


async def agent_page(request: Request) -> Response:
    return _guarded_page(request, "agent.html", (Role.AGENT,))


async def wallboard_page(request: Request) -> Response:
    return _guarded_page(request, "wallboard.html", (Role.SUPERVISOR, Role.ADMIN))


async def admin_page(request: Request) -> Response:
    return _guarded_page(request, "admin.html", (Role.ADMIN,))


async def reports_page(request: Request) -> Response:
    return _guarded_page(request, "reports.html", (Role.SUPERVISOR, Role.ADMIN))


def _guarded_page(request: Request, name: str, roles: tuple[Role, ...]) -> Response:
    principal = principal_of(request)
    if principal is None:
        return RedirectResponse(
            f"/login?next={quote(request.url.path)}", status_code=status.HTTP_303_SEE_OTHER
        )
    if not has_any_role(principal, roles):
        return _page("forbidden.html", status_code=status.HTTP_403_FORBIDDEN)
    return _page(name)


def _page(name: str, *, status_code: int = status.HTTP_200_OK) -> Response:
    # Pages show live, per-user data: never serve them from a cache.
    return FileResponse(
        STATIC_DIR / name,
        status_code=status_code,
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )
