"""What the orchestrator needs from the outside world, as small protocols.

The orchestrator decides; these do the I/O. Tests pass in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        """Hang up a leg we originated, by its ChannelId: a ringing agent leg (the
        caller went away) or a supervisor's leg (the call it spied on is over).
        Nothing happens when the PBX has no such channel (any more)."""
        ...

    async def originate_spy_leg(
        self,
        *,
        spy_leg_id: str,
        call_id: str,
        supervisor_target: str,
        agent_leg_id: str,
        mode: str,
    ) -> bool:
        """Ring a supervisor's phone (``supervisor_target``, a dial string) into
        the dialplan's ``callcenter-spy``: once answered it runs ChanSpy on the
        channel that carries the agent leg ``agent_leg_id``, with the options of
        ``mode`` (monitor, whisper or barge).

        True when the PBX took the Originate; False when its answer was lost with
        the link (the phone may ring: it is never sent twice). Raises
        ``OfferNotPlaced`` when the PBX refused it, the agent's channel is not
        known, or the link is down (``link_down``).
        """
        ...

    async def send_caller(self, *, caller_channel: str, destination: str, queue: str) -> None:
        """Redirect a waiting caller out of the queues: ``destination`` is
        voicemail, callback or hangup (a closed message), each a fixed context of
        the dialplan; ``queue`` says whose mailbox or message. Raises
        ``OfferNotPlaced`` when the PBX refused or could not be reached."""
        ...


class OfferNotPlaced(Exception):
    """The Originate (an offer's, or a supervisor's leg) was not accepted; nothing
    is ringing.

    ``link_down``: the PBX could not be reached at all, which says nothing about
    the agent (who is not penalised for it)."""

    def __init__(self, message: str, *, link_down: bool = False) -> None:
        super().__init__(message)
        self.link_down = link_down


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call record with no end: a call in progress, or one a stopped service
    never saw end. Loaded at start-up and matched against what the PBX still has."""

    call_id: str
    pbx: str
    linkedid: str
    queue: str
    enqueued_at: datetime


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
