"""What the orchestrator needs from the outside world, as small protocols.

The orchestrator decides; these do the I/O. Tests pass in-memory fakes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Dialer(Protocol):
    """Sends call-control actions to one PBX (an AMI link in production)."""

    async def originate_agent_leg(
        self,
        *,
        leg_id: str,
        call_id: str,
        linkedid: str,
        agent_target: str,
        caller_channel: str,
        ring_timeout_s: float,
        caller_id_number: str,
        caller_id_name: str,
    ) -> None:
        """Ring an agent; on answer the dialplan bridges the agent to the caller.

        Raises ``OfferNotPlaced`` when the PBX refused the action or the link
        was down: the offer then failed without reaching the agent.
        """
        ...

    async def hangup_leg(self, leg_id: str) -> None:
        """Hang up a ringing agent leg (the caller went away)."""
        ...


class OfferNotPlaced(Exception):
    """The Originate was not accepted; nothing is ringing."""


class CallRecords(Protocol):
    """Durable call history; every call step is written through it."""

    async def call_enqueued(
        self,
        call_id: str,
        pbx: str,
        linkedid: str,
        queue: str,
        caller_number: str,
        customer_id: int | None,
        at: datetime,
    ) -> None: ...

    async def offer_made(
        self, call_id: str, leg_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None: ...

    async def offer_result(self, leg_id: str, result: str, at: datetime) -> None: ...

    async def call_answered(
        self, call_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None: ...

    async def call_ended(
        self,
        call_id: str,
        outcome: str,
        abandon_phase: str | None,
        ended_by: str | None,
        at: datetime,
    ) -> None: ...

    async def agent_state_changed(
        self, agent_id: int, state: str, reason: str | None, at: datetime
    ) -> None: ...


class PopBuilder(Protocol):
    """Builds the screen-pop document (a JSON-ready dict) for a call."""

    async def __call__(
        self, *, call_id: str, queue: str, caller_number: str, account: str
    ) -> dict[str, Any]: ...
