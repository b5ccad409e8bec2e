"""``/docs``: the OpenAPI reference, rendered by Swagger UI from files shipped in
the ``swagger-ui-bundle`` package, so it works without a CDN and under the
pages' CSP (no inline script: the page loads ``/static/docs.js``)."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter
from fastapi.responses import FileResponse

from callcenter.web.routes_pages import STATIC_DIR

SWAGGER_UI_DIR = Path(swagger_ui_bundle.swagger_ui_path)


def docs_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/docs", docs_page, methods=["GET"])
    return router


async def docs_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "docs.html", media_type="text/html")
