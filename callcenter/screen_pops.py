"""Adapter from the orchestrator's PopBuilder port to ``screenpop.build_pop``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from screenpop.external import ExternalCrm
from screenpop.pop import Identified, build_pop


class ScreenPops:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        default_region: str,
        *,
        external: ExternalCrm | None = None,
    ) -> None:
        self._sessions = sessions
        self._default_region = default_region
        self._external = external

    async def __call__(
        self,
        *,
        call_id: str,
        queue: str,
        caller_number: str,
        account: str,
        identified: Identified | None = None,
    ) -> dict[str, Any]:
        pop = await build_pop(
            self._sessions,
            call_id=call_id,
            queue=queue,
            caller_number=caller_number,
            account=account,
            default_region=self._default_region,
            routed_because="",
            external=self._external,
            identified=identified,
        )
        return pop.model_dump(mode="json")
