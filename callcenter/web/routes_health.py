"""Liveness and readiness probes for the process supervisor / load balancer.

Liveness says only that the process answers (restart it if not); readiness says
whether it can do its job (database, PBX links), so a balancer can route away
without a restart loop. ``/metrics`` is Prometheus's scrape endpoint: operational
figures only, never a caller, customer or agent name (see ``callcenter.metrics``).
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from callcenter.web.context import web_context

log = structlog.get_logger(__name__)


def health_router() -> APIRouter:
    router = APIRouter()
    router.add_api_route("/healthz", healthz, methods=["GET"])
    router.add_api_route("/readyz", readyz, methods=["GET"])
    router.add_api_route("/metrics", prometheus_metrics, methods=["GET"])
    return router


async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def healthz() -> dict[str, str]:
    return {"status": "alive"}


async def readyz(request: Request) -> JSONResponse:
    readiness = web_context(request).readiness
    try:
        checks = await readiness() if readiness is not None else {}
    except Exception:
        log.exception("readiness check raised")
        checks = {"readiness": False}
    ready = all(checks.values())
    body: dict[str, object] = {"ready": ready, "checks": checks}
    if not ready:
        body["failing"] = sorted(name for name, ok in checks.items() if not ok)
    return JSONResponse(
        body, status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE
    )
