"""Reason codes (why an agent is Not Ready) and disposition codes (how a call
ended): short stable codes stored in the history, with labels people read.

Deleting a code does not touch the history that used it (it is stored as text);
deactivating one (``active`` false) hides it from agents but keeps it known.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.admin_errors import NotFound
from callcenter.db.models import DispositionCode as DispositionRow
from callcenter.db.models import ReasonCode as ReasonRow
from callcenter.db.session import Sessions


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    label: str
    productive: bool = False
    active: bool = True


@dataclass(frozen=True, slots=True)
class DispositionCode:
    code: str
    label: str
    requires_notes: bool = False
    active: bool = True


async def _upsert(sessions: Sessions, put: Callable[[AsyncSession], Awaitable[bool]]) -> bool:
    """Run ``put`` in a transaction; when a concurrent put created the same code
    first (its primary key refuses the insert), run it again as an update."""
    try:
        async with sessions.begin() as session:
            return await put(session)
    except IntegrityError:
        async with sessions.begin() as session:
            return await put(session)


async def list_reason_codes(
    sessions: Sessions, *, include_inactive: bool = True
) -> list[ReasonCode]:
    query = select(ReasonRow).order_by(ReasonRow.code)
    if not include_inactive:
        query = query.where(ReasonRow.active)
    async with sessions() as session:
        return [
            ReasonCode(row.code, row.label, row.productive, row.active)
            for row in await session.scalars(query)
        ]


async def put_reason_code(sessions: Sessions, code: ReasonCode) -> bool:
    """Create or replace ``code``; True when it was created."""

    async def put(session: AsyncSession) -> bool:
        row = await session.get(ReasonRow, code.code)
        created = row is None
        if row is None:
            row = ReasonRow(code=code.code)
            session.add(row)
        row.label, row.productive, row.active = code.label, code.productive, code.active
        return created

    return await _upsert(sessions, put)


async def delete_reason_code(sessions: Sessions, code: str) -> None:
    async with sessions.begin() as session:
        result = await session.execute(delete(ReasonRow).where(ReasonRow.code == code))
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"reason code {code!r}")


async def list_disposition_codes(
    sessions: Sessions, *, include_inactive: bool = True
) -> list[DispositionCode]:
    query = select(DispositionRow).order_by(DispositionRow.code)
    if not include_inactive:
        query = query.where(DispositionRow.active)
    async with sessions() as session:
        return [
            DispositionCode(row.code, row.label, row.requires_notes, row.active)
            for row in await session.scalars(query)
        ]


async def put_disposition_code(sessions: Sessions, code: DispositionCode) -> bool:
    """Create or replace ``code``; True when it was created."""

    async def put(session: AsyncSession) -> bool:
        row = await session.get(DispositionRow, code.code)
        created = row is None
        if row is None:
            row = DispositionRow(code=code.code)
            session.add(row)
        row.label, row.requires_notes, row.active = code.label, code.requires_notes, code.active
        return created

    return await _upsert(sessions, put)


async def delete_disposition_code(sessions: Sessions, code: str) -> None:
    async with sessions.begin() as session:
        result = await session.execute(delete(DispositionRow).where(DispositionRow.code == code))
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"disposition code {code!r}")
