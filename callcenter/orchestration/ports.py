"""What the orchestrator needs from the outside world, as small protocols.

The orchestrator decides; these do the I/O. Tests pass in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from callcenter.orchestration.recording_tracker import FinishedRecording


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
        confirm: bool = False,
        record: bool = False,
        recording_part: str = "",
        survey: bool = False,
    ) -> None:
        """Ring an agent; on answer the dialplan bridges the agent to the caller.
        ``confirm``: the far end must press 1 first (an outside number, where a
        voicemail may answer); one that does not ends the offer ``unconfirmed``.
        ``record``: the answered leg is recorded (MixMonitor) into the call's
        file, ``recording_part`` naming a later leg's part (``-2``).
        ``survey``: when the agent hangs up, the caller is sent on to the
        post-call survey instead of being hung up.

        Raises ``OfferNotPlaced`` when the PBX refused the action or the link
        was down: the offer then failed without reaching the agent.
        """
        ...

    async def mute_recording(self, leg_id: str, *, muted: bool) -> None:
        """Pause or resume the recording of a talking agent leg. Raises
        ``OfferNotPlaced`` when it could not be done (the call is then recorded
        as it was)."""
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

    # -- call control (agents' hold, transfer, conference, hang up) ---------------

    async def move_to_conference(
        self, *, call_id: str, caller_channel: str, agent_leg_id: str
    ) -> None:
        """Take a call talking through ``Bridge()`` (``callcenter-connect``) into
        its own ConfBridge, named ``call_id``, without dropping either side.

        Setvar ``CC_CALL_ID=<call_id>`` on the caller and ``CC_AFTER_BRIDGE=conf``
        on the channel carrying ``agent_leg_id``, then Redirect the caller into
        ``callcenter-conf``: the agent's ``Bridge()`` returns (capture 08), and
        ``callcenter-connect`` sends a leg marked so into the same conference
        instead of hanging it up. Raises ``OfferNotPlaced`` when refused, when the
        leg has no live channel, or when the link is down (``link_down``)."""
        ...

    async def redirect_caller(
        self, *, call_id: str, caller_channel: str, destination: str, number: str = ""
    ) -> None:
        """Move an answered caller: ``hold`` -> ``callcenter-wait`` (hold music,
        capture 16); ``conference`` -> Setvar ``CC_CALL_ID`` then
        ``callcenter-conf`` (back from hold, capture 16); ``outbound`` ->
        ``callcenter-outbound`` with ``number`` (digits, optional leading +) as
        the extension: a blind transfer to an outside number; ``wait`` ->
        ``callcenter-wait`` to be offered again (a blind transfer to a queue or an
        agent, capture 08); ``survey`` -> ``callcenter-survey`` (a caller left
        alone in its conference when the queue asks for a score). Raises
        ``OfferNotPlaced`` as above."""
        ...

    async def originate_conference_leg(
        self,
        *,
        leg_id: str,
        call_id: str,
        linkedid: str,
        target: str,
        ring_timeout_s: float,
        caller_id_number: str,
        caller_id_name: str,
        caller_channel: str,
    ) -> None:
        """Ring ``target`` (an agent's dial string, or ``Local/<number>@callcenter-outbound``
        for an outside number) into the call's conference ``callcenter-conf``
        with ``CC_CALL_ID`` (capture 16, a consulted agent or a third party).
        Announced to the tracker like an offer, so its ringing, answer
        (``AgentLegAnswered``), failure and hang-up come back as domain events
        for ``leg_id``; ``caller_channel`` (the call's caller) is how the tracker
        ties the leg to its call, as Linkedids are not merged in a conference.
        Raises ``OfferNotPlaced`` like ``originate_agent_leg``."""
        ...

    async def hangup_caller(self, *, caller_channel: str) -> None:
        """Hang up the caller's channel: the agent ended the call. Nothing
        happens when it is gone already."""
        ...

    async def originate_callback_leg(
        self,
        *,
        leg_id: str,
        call_id: str,
        agent_target: str,
        number: str,
        ring_timeout_s: float,
        caller_id_name: str,
    ) -> None:
        """A callback: ring the agent first (``agent_target`` into
        ``callcenter-callback-out`` with ``number`` as the extension); once they
        answer, the dialplan dials the customer. The attempt is a call of its own
        on the PBX, whose Linkedid is ``leg_id``: its events come back with that
        Linkedid (``Bridged`` when the customer answers, ``CustomerUnreached``
        when they do not, then ``CallEnded``). Raises ``OfferNotPlaced`` like
        ``originate_agent_leg``."""
        ...


class OfferNotPlaced(Exception):
    """The Originate (an offer's, or a supervisor's leg) was not accepted; nothing
    is ringing.

    ``link_down``: the PBX could not be reached at all, which says nothing about
    the agent (who is not penalised for it)."""

    def __init__(self, message: str, *, link_down: bool = False) -> None:
        super().__init__(message)
        self.link_down = link_down


#: How a leg joined the call: routed to the agent (``offer``), a blind
#: transfer's new party (``transfer``), a party consulted before an attended
#: transfer (``consult``) or added to a three-way call (``conference``).
LegKind = Literal["offer", "transfer", "consult", "conference"]


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A call record with no end: a call in progress, or one a stopped service
    never saw end. Loaded at start-up and matched against what the PBX still has."""

    call_id: str
    pbx: str
    linkedid: str
    queue: str
    enqueued_at: datetime
    #: an agent had answered it (its record keeps that first answer)
    answered: bool = False
    #: its legs that reached an agent (offers, transfers, consultations):
    #: leg id -> agent id, so a leg found talking on the PBX names its agent
    legs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A new call as its record is first written (``CallRecords.call_enqueued``)."""

    call_id: str
    pbx: str
    linkedid: str
    queue: str
    caller_number: str
    enqueued_at: datetime


class ArrivalJournal(Protocol):
    """Keeps each new call's arrival, at once and on local disk, until its
    record is in the database. Why: the history is written off the routing path
    (``OrderedWriter``), and a call offered and then answered and over while the
    service was down (killed, restarted) would leave no trace at all if its
    arrival was still queued at the kill. Noting it here costs microseconds, so
    no offer waits for the database; the next start writes what is left."""

    def note(self, arrival: Arrival) -> Callable[[], None]:
        """Keep ``arrival``; call what is returned once its record is written."""
        ...


class CallRecords(Protocol):
    """Durable call history; every call step is written through it."""

    def batch(self) -> AbstractAsyncContextManager[None]:
        """The steps written inside it go in one transaction: the history
        writer hands over what queued up meanwhile in one commit, not one each
        (under load a commit per step is what falls behind)."""
        ...

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

    async def call_wrapped_up(self, call_id: str, disposition: str, notes: str) -> bool:
        """The agent's disposition and notes for a call they talked on."""
        ...

    async def survey_answered(self, call_id: str, score: int) -> None:
        """The caller keyed ``score`` (1-5) in the post-call survey: stored on
        the record and on the call's history entry (CSAT)."""
        ...

    async def call_identified(self, call_id: str, customer_id: int) -> None:
        """The agent named the caller (picked from a pick list or created): the
        record names the customer, and an answered call joins their history."""
        ...

    # -- legs and the event log (transfers, conferences, holds) -----------------

    async def leg_added(
        self,
        call_id: str,
        leg_id: str,
        agent_id: int | None,
        target: str,
        kind: LegKind,
        at: datetime,
    ) -> None:
        """A leg other than a routed offer: a transfer to an agent or a number, a
        consulted party, a conference member. ``agent_id`` None for a number.
        Stored beside the offers (``offer_result`` ends it like an offer)."""
        ...

    async def leg_connected(self, leg_id: str, at: datetime) -> None:
        """The leg's party started talking on the call (their credit starts)."""
        ...

    async def leg_left(self, leg_id: str, at: datetime, held_s: float) -> None:
        """The leg's party left the call (their credit ends); ``held_s``: how long
        the caller was on hold while this party had the call."""
        ...

    async def call_event(
        self, call_id: str, kind: str, at: datetime, detail: Mapping[str, object]
    ) -> None:
        """Append one step to the call's event log, which is never updated nor
        deleted. ``detail`` is JSON-ready (ids, reasons, targets, no secrets)."""
        ...

    async def last_agent_states(self) -> dict[int, tuple[str, str | None, datetime]]:
        """Each agent's latest recorded state, reason and time (restart)."""
        ...


#: told the part of the pop routing needs (its "customer" and "last_agent", or
#: neither for a caller the CRM does not know) once that is read
Identified = Callable[[dict[str, Any]], None]


class PopBuilder(Protocol):
    """Builds the screen-pop document (a JSON-ready dict) for a call.

    A builder may call ``identified`` before the rest of the pop is read (open
    cases, billing, orders...): routing needs only who the caller is, and need
    not wait for the rest. One that does not is awaited whole."""

    async def __call__(
        self,
        *,
        call_id: str,
        queue: str,
        caller_number: str,
        account: str,
        identified: Identified | None = None,
    ) -> dict[str, Any]: ...


class RecordingSink(Protocol):
    """Takes a recorded call once it is over, to join its legs' files into one
    recording and keep it (``callcenter.recording_ingest``). Must not block:
    the work is queued."""

    def call_recorded(self, recording: FinishedRecording) -> None: ...
