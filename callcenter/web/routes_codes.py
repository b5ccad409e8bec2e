"""Reason codes (why an agent is Not Ready), disposition codes (how a call
ended, chosen at wrap-up), and the reference data the rules editor needs:
locations with their cost and preference, and a country's public holidays.

Everyone logged in may read the codes (the agent page offers them); only admins
change them. A code is a short stable name (stored in the history) with a label
people read; deleting one leaves the history as it was.
"""

from __future__ import annotations

from typing import Annotated, Any

import holidays
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from callcenter.db import codes
from callcenter.db.admin_errors import NotFound
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import AdminPrincipal, AnyPrincipal, Database, SupervisorPrincipal
from callcenter.web.guards import check_origin

Code = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class ReasonCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100)
    #: paid, productive time (training, coaching) rather than a break
    productive: bool = False
    active: bool = True


class DispositionCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100)
    #: the agent must write notes when choosing it
    requires_notes: bool = False
    active: bool = True


def codes_router() -> APIRouter:
    router = APIRouter(prefix="/api", tags=["codes and reference"])
    write = {"dependencies": [Depends(check_origin)]}
    router.add_api_route("/reason-codes", list_reason_codes, methods=["GET"])
    router.add_api_route("/reason-codes/{code}", put_reason_code, methods=["PUT"], **write)  # type: ignore[arg-type]
    router.add_api_route("/reason-codes/{code}", delete_reason_code, methods=["DELETE"], **write)  # type: ignore[arg-type]
    router.add_api_route("/disposition-codes", list_disposition_codes, methods=["GET"])
    router.add_api_route(
        "/disposition-codes/{code}",
        put_disposition_code,
        methods=["PUT"],
        **write,  # type: ignore[arg-type]
    )
    router.add_api_route(
        "/disposition-codes/{code}",
        delete_disposition_code,
        methods=["DELETE"],
        **write,  # type: ignore[arg-type]
    )
    router.add_api_route("/locations", list_locations, methods=["GET"])
    router.add_api_route("/holidays", list_holidays, methods=["GET"])
    return router


async def list_reason_codes(principal: AnyPrincipal, db: Database) -> dict[str, Any]:
    return {
        "reason_codes": [
            {"code": c.code, "label": c.label, "productive": c.productive, "active": c.active}
            for c in await codes.list_reason_codes(db)
        ]
    }


async def put_reason_code(
    code: Code, body: ReasonCodeIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    created = await codes.put_reason_code(
        db,
        codes.ReasonCode(
            code=code, label=body.label, productive=body.productive, active=body.active
        ),
    )
    await audit(request, "reason_code.saved", code, principal=principal, created=created)
    return {"code": code, **body.model_dump(), "created": created}


async def delete_reason_code(
    code: Code, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        await codes.delete_reason_code(db, code)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {exc}") from exc
    await audit(request, "reason_code.deleted", code, principal=principal)
    return {"deleted": code}


async def list_disposition_codes(principal: AnyPrincipal, db: Database) -> dict[str, Any]:
    return {
        "disposition_codes": [
            {
                "code": c.code,
                "label": c.label,
                "requires_notes": c.requires_notes,
                "active": c.active,
            }
            for c in await codes.list_disposition_codes(db)
        ]
    }


async def put_disposition_code(
    code: Code, body: DispositionCodeIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    created = await codes.put_disposition_code(
        db,
        codes.DispositionCode(
            code=code, label=body.label, requires_notes=body.requires_notes, active=body.active
        ),
    )
    await audit(request, "disposition_code.saved", code, principal=principal, created=created)
    return {"code": code, **body.model_dump(), "created": created}


async def delete_disposition_code(
    code: Code, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        await codes.delete_disposition_code(db, code)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {exc}") from exc
    await audit(request, "disposition_code.deleted", code, principal=principal)
    return {"deleted": code}


async def list_locations(principal: SupervisorPrincipal, request: Request) -> dict[str, Any]:
    """Where agents work, with what a minute of their time costs and the order
    they are preferred in (edited in the routing rules' ``locations``)."""
    rules, _ = web_context(request).desk.current_rules()
    return {"locations": [rule.model_dump(mode="json") for rule in rules.locations]}


async def list_holidays(
    principal: SupervisorPrincipal,
    country: Annotated[str, Query(min_length=2, max_length=3, pattern=r"^[A-Za-z]{2,3}$")],
    year: Annotated[int, Query(ge=1970, le=2100)],
    subdivision: Annotated[
        str | None, Query(min_length=1, max_length=10, pattern=r"^[A-Za-z0-9-]+$")
    ] = None,
) -> dict[str, Any]:
    """The public holidays a queue's hours close on, for ``holidays_country`` /
    ``holidays_subdivision`` in the rules (the `holidays` package's calendars)."""
    try:
        calendar = holidays.country_holidays(country.upper(), subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "country", "reason": f"no holiday calendar for {country}/{subdivision}"}],
        ) from exc
    return {
        "country": country.upper(),
        "subdivision": subdivision,
        "year": year,
        "holidays": [
            {"date": day.isoformat(), "name": name} for day, name in sorted(calendar.items())
        ],
    }
