"""Routing rules for admins: drafts, validation, publishing, rollback, diff and
what-if.

A version is a whole ``routing.RoutingRules`` document. An admin saves a draft
(refused with every bad field when it does not validate), compares it with any
version, replays recent traffic through it (what-if), and publishes it: the
router takes it at once and callers already waiting are weighed again under it,
nobody dropped. A version that would strand waiting callers (it removes their
queue) is refused before it is stamped live. Rolling back publishes an earlier
document again as a new version, so the history of what was live when is never
rewritten. Every edit is audited.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from callcenter.db.routing_rules import (
    AlreadyPublished,
    RulesInvalid,
    VersionNotFound,
    check_rules,
    live_version,
    publish_draft,
    rollback_to,
    rule_versions,
    rules_document,
    save_draft,
)
from callcenter.db.whatif_history import load_history
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import AdminPrincipal, Database
from callcenter.web.guards import check_origin
from routing import RoutingRules, RulesRefused
from routing.diff import diff_documents
from routing.whatif import compare

log = structlog.get_logger(__name__)

Version = Annotated[int, Path(ge=1, le=2_000_000_000)]
#: the what-if replays at most this much history (a week of calls, in a thread)
MAX_WHAT_IF_HOURS = 168


class RulesDocument(BaseModel):
    """A rules document as the editor sends it; checked by ``check_rules`` so
    the errors name the field inside the document."""

    model_config = ConfigDict(extra="forbid")

    document: dict[str, Any]


class DraftRequest(RulesDocument):
    note: str = Field(default="", max_length=500)


class WhatIfRequest(BaseModel):
    """Replay the last ``hours`` of calls through a draft: a stored ``version``
    or an unsaved ``document`` (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    hours: float = Field(default=24.0, gt=0, le=MAX_WHAT_IF_HOURS)
    version: int | None = Field(default=None, ge=1, le=2_000_000_000)
    document: dict[str, Any] | None = None


def rules_router() -> APIRouter:
    router = APIRouter(prefix="/api/rules", tags=["routing rules"])
    post = {"methods": ["POST"], "dependencies": [Depends(check_origin)]}
    router.add_api_route("", live_rules, methods=["GET"])
    router.add_api_route("/versions", versions, methods=["GET"])
    router.add_api_route("/versions/{version}", version_document, methods=["GET"])
    router.add_api_route("/validate", validate, **post)  # type: ignore[arg-type]
    router.add_api_route(
        "/drafts",
        create_draft,
        status_code=status.HTTP_201_CREATED,
        **post,  # type: ignore[arg-type]
    )
    router.add_api_route("/versions/{version}/publish", publish, **post)  # type: ignore[arg-type]
    router.add_api_route("/versions/{version}/rollback", rollback, **post)  # type: ignore[arg-type]
    router.add_api_route("/diff", diff, methods=["GET"])
    router.add_api_route("/what-if", what_if, **post)  # type: ignore[arg-type]
    return router


def _invalid(exc: RulesInvalid) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.errors)


def _checked(document: dict[str, Any]) -> RoutingRules:
    try:
        return check_rules(document)
    except RulesInvalid as exc:
        raise _invalid(exc) from exc


async def live_rules(principal: AdminPrincipal, request: Request) -> dict[str, Any]:
    """The rules the router works by right now (they may be the fallback built
    from the queues table, ``version`` null, when nothing was published)."""
    rules, version = web_context(request).desk.current_rules()
    return {"version": version, "document": rules.model_dump(mode="json")}


async def versions(principal: AdminPrincipal, db: Database) -> dict[str, Any]:
    """Every stored version, newest first: who saved it, when, and whether and
    when it was published; ``live`` marks the one routing now."""
    live = await live_version(db)
    return {
        "live_version": live,
        "versions": [
            {
                "version": v.version,
                "created_at": v.created_at.isoformat(),
                "created_by": v.created_by,
                "note": v.note,
                "published_at": v.published_at.isoformat() if v.published_at else None,
                "live": v.version == live,
            }
            for v in await rule_versions(db)
        ],
    }


async def version_document(
    principal: AdminPrincipal, db: Database, version: Version
) -> dict[str, Any]:
    found = await rules_document(db, version)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}")
    return {"version": found[0], "document": found[1]}


async def validate(body: RulesDocument, principal: AdminPrincipal) -> dict[str, Any]:
    """422 with every bad field, or the document as it would be stored (with
    its defaults filled in)."""
    rules = _checked(body.document)
    return {"valid": True, "document": rules.model_dump(mode="json")}


async def create_draft(
    body: DraftRequest, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    rules = _checked(body.document)
    version = await save_draft(db, rules, author=principal.username, note=body.note)
    await audit(request, "rules.draft_saved", f"version {version}", principal=principal)
    return {"version": version}


async def publish(
    version: Version, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """Make a draft live now. 409 when it is already published (roll back to it
    instead) or when it would strand waiting callers; 422 when the stored draft
    no longer validates."""
    desk = web_context(request).desk
    found = await rules_document(db, version)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}")
    _refuse_if_stranding(request, _checked(found[1]))
    try:
        rules = await publish_draft(db, version, author=principal.username)
    except VersionNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}") from None
    except AlreadyPublished as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except RulesInvalid as exc:
        raise _invalid(exc) from exc
    _go_live(request, rules, version)
    await audit(request, "rules.published", f"version {version}", principal=principal)
    return {"version": version, "live": desk.current_rules()[1] == version}


async def rollback(
    version: Version, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """Publish an earlier version's document again, as a new version."""
    found = await rules_document(db, version)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}")
    _refuse_if_stranding(request, _checked(found[1]))
    try:
        new_version, rules = await rollback_to(db, version, author=principal.username)
    except VersionNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}") from None
    except RulesInvalid as exc:
        raise _invalid(exc) from exc
    _go_live(request, rules, new_version)
    await audit(
        request,
        "rules.rolled_back",
        f"version {new_version}",
        principal=principal,
        copy_of=version,
    )
    return {"version": new_version, "copy_of": version}


def _refuse_if_stranding(request: Request, rules: RoutingRules) -> None:
    refusal = web_context(request).desk.rules_refusal(rules)
    if refusal is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, refusal)


def _go_live(request: Request, rules: RoutingRules, version: int) -> None:
    """Hand the stamped version to the router now (the poller would within a
    few seconds; the admin should see the effect at once). A caller who joined
    a removed queue between the check and here keeps the old rules live, and the
    poller tries again and logs why."""
    try:
        web_context(request).desk.apply_rules(rules, version)
    except RulesRefused as exc:
        log.error("published rules refused by the router", version=version, reason=str(exc))


async def diff(
    principal: AdminPrincipal,
    db: Database,
    before: Annotated[int, Query(alias="from", ge=1, le=2_000_000_000)],
    after: Annotated[int, Query(alias="to", ge=1, le=2_000_000_000)],
) -> dict[str, Any]:
    """What changed from version ``from`` to version ``to``, leaf by leaf."""
    documents = []
    for version in (before, after):
        found = await rules_document(db, version)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {version}")
        documents.append(found[1])
    changes = diff_documents(documents[0], documents[1])
    return {"from": before, "to": after, "changes": [c.as_json() for c in changes]}


async def what_if(
    body: WhatIfRequest, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """Replay the last ``hours`` of recorded calls (arrivals, handle times,
    abandons) and agents' shifts through the router twice, in simulated time:
    with the live rules and with the draft. Figures side by side."""
    if (body.version is None) == (body.document is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "version", "reason": "give either version or document"}],
        )
    if body.document is not None:
        draft = _checked(body.document)
    else:
        found = await rules_document(db, body.version or 0)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no version {body.version}")
        draft = _checked(found[1])
    live, live_number = web_context(request).desk.current_rules()
    until = datetime.now(UTC)
    since = until - timedelta(hours=body.hours)
    calls, shifts = await load_history(db, since=since, until=until)
    # Seconds of CPU for a busy day: off the event loop, which reads the AMI.
    figures = await asyncio.to_thread(compare, live, draft, calls, shifts)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "hours": body.hours,
        "live_version": live_number,
        "draft_version": body.version,
        **figures,
    }
