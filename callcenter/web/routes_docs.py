"""``/docs``: the OpenAPI reference, rendered by Swagger UI from files shipped in
the ``fastapi-offline`` package, so it works without a CDN and under the pages'
CSP (no inline script: the page loads ``/static/docs.js``).

That package ships Swagger UI 5, which reads the OpenAPI 3.1 schema FastAPI
writes; Swagger UI 4 (``swagger-ui-bundle``) refuses it ("does not specify a
valid version field")."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from callcenter.web.routes_pages import STATIC_DIR

SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))


def docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/docs", docs_page, methods=["GET"])
    return router


async def docs_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")
