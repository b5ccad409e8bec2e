"""Recordings over HTTP: search, metadata, and the audio, seekable (Range).

Who hears what: agents their own calls (those they are heard on), supervisors
their queues' (every queue when none is assigned), admins all. A recording
outside the reader's reach answers 404, as one that does not exist, so nobody
learns which calls were recorded. Every look at a recording and every request
for its audio (each Range a browser asks for while seeking) is one row of the
audit trail.

Plain files are streamed by Starlette's ``FileResponse``, which answers Range
requests itself. An encrypted file is decrypted in memory (a recording is about
1 MB a minute) and its ranges are cut here, so the plain audio never touches
the disk.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import FileResponse

from callcenter.db.recordings import Audience, get_recording, search_recordings
from callcenter.ports import Principal, Role
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import AnyPrincipal, Database
from recordings import RecordingStore

log = structlog.get_logger(__name__)

RecordingId = Annotated[int, Path(ge=1, le=2_000_000_000)]
_RANGE = re.compile(r"bytes=(\d*)-(\d*)\Z")
#: what a recording may be fetched as, and for how long a browser may keep it
AUDIO_HEADERS = {"Cache-Control": "private, no-store", "Content-Disposition": "inline"}


def recordings_router() -> APIRouter:
    router = APIRouter(prefix="/api/recordings", tags=["recordings"])
    router.add_api_route("", search, methods=["GET"])
    router.add_api_route("/{recording_id}", detail, methods=["GET"])
    router.add_api_route(
        "/{recording_id}/audio",
        audio,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}, 206: {"description": "a byte range"}},
    )
    return router


def audience_of(principal: Principal) -> Audience:
    """The widest reach among the principal's roles."""
    if principal.has(Role.ADMIN):
        return Audience()
    if principal.has(Role.SUPERVISOR):
        return Audience(queues=principal.queues)
    # An agent with no agent profile is heard on nothing.
    return Audience(agent_id=principal.agent_id if principal.agent_id is not None else 0)


def _public(recording: dict[str, Any]) -> dict[str, Any]:
    """The metadata without the store's path (an internal detail)."""
    shown = {key: value for key, value in recording.items() if key != "path"}
    shown["audio_url"] = f"/api/recordings/{recording['id']}/audio"
    return shown


async def search(
    principal: AnyPrincipal,
    db: Database,
    customer_id: Annotated[int | None, Query(ge=1, le=2_000_000_000)] = None,
    agent_id: Annotated[int | None, Query(ge=1, le=2_000_000_000)] = None,
    queue: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    disposition: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Recordings the caller may hear, newest first, by customer, agent, queue,
    time range (``since`` <= start < ``until``, ISO 8601 with a zone) and the
    call's disposition."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                [{"field": name, "reason": "give a time zone (e.g. Z or +01:00)"}],
            )
    found = await search_recordings(
        db,
        audience_of(principal),
        customer_id=customer_id,
        agent_id=agent_id,
        queue=queue,
        since=since,
        until=until,
        disposition=disposition,
        limit=limit,
    )
    return {"recordings": [_public(recording) for recording in found]}


async def _visible(db: Database, recording_id: int, principal: Principal) -> dict[str, Any]:
    found = await get_recording(db, recording_id, audience_of(principal))
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such recording")
    return found


async def detail(
    recording_id: RecordingId, principal: AnyPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """One recording: who is heard where (``sections``), where it was paused
    and by whom (``pauses``), size, checksum, retention."""
    recording = await _visible(db, recording_id, principal)
    await audit(request, "recording.viewed", str(recording_id), principal=principal)
    return _public(recording)


def _store(request: Request) -> RecordingStore:
    store = web_context(request).recordings
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "recordings are not available")
    return store


async def audio(
    recording_id: RecordingId, principal: AnyPrincipal, db: Database, request: Request
) -> Response:
    """The recording as WAV; ``Range: bytes=...`` gives 206 with that part (the
    browser's player seeks with it), an unsatisfiable range 416. 410 once the
    retention job deleted the audio."""
    recording = await _visible(db, recording_id, principal)
    requested = request.headers.get("range")
    await audit(
        request,
        "recording.played",
        str(recording_id),
        principal=principal,
        call_id=recording["call_id"],
        range=(requested or "")[:64],
    )
    if recording["deleted_at"] is not None:
        raise HTTPException(status.HTTP_410_GONE, "this recording was deleted by retention")
    store = _store(request)
    if not recording["encrypted"]:
        try:
            path = store.path_of(recording["path"])
        except ValueError as exc:
            log.error("a recording's path is refused", recording_id=recording_id, error=str(exc))
            raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, "bad path") from None
        if not path.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "the recording's file is missing")
        return FileResponse(path, media_type="audio/wav", headers=AUDIO_HEADERS)
    try:
        plain = store.read(recording["path"])
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the recording's file is missing") from None
    return ranged(plain, requested)


def ranged(body: bytes, requested: str | None) -> Response:
    """``body`` whole (200), or the one range asked for (206); several ranges
    at once are answered whole, as RFC 9110 allows."""
    size = len(body)
    headers = {**AUDIO_HEADERS, "Accept-Ranges": "bytes"}
    match = _RANGE.match(requested.strip()) if requested else None
    if match is None:
        return Response(body, media_type="audio/wav", headers=headers)
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return Response(body, media_type="audio/wav", headers=headers)
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return Response(
            status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE,
            headers={**headers, "Content-Range": f"bytes */{size}"},
        )
    return Response(
        body[start : end + 1],
        status_code=status.HTTP_206_PARTIAL_CONTENT,
        media_type="audio/wav",
        headers={**headers, "Content-Range": f"bytes {start}-{end}/{size}"},
    )
