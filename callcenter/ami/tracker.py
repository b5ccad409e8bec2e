"""The call tracker: raw AMI events in, domain events out. Sans-I/O, no clock.

Wire facts it relies on (see tests/fixtures/ami/README.md, proven on Asterisk 22):

- A call of ours starts when a channel raises ``UserEvent: CallCenterEnqueue``; its
  Linkedid names the call. Channels never seen doing that (left over from before a
  restart, supervisors' spy legs) never become calls.
- The caller's channels are those created inside that Linkedid (the Local ``;1``
  customer half and the ``;2`` half that waits and gets bridged).
- An agent leg is the Originate we sent with ``ChannelId: <leg_id>``: its channel's
  Uniqueid is ``leg_id`` (``leg_id;2`` for the Local ``;2`` half) and it is born in
  its own Linkedid ``leg_id``, which Asterisk rewrites at BridgeEnter. So legs are
  recognised by Uniqueid, never by Linkedid or name.
- ``OriginateResponse`` (by ActionID, or Uniqueid == ChannelId) says how the offer
  ended: Success = answered; Failure Reason 3 = no answer, 5 = busy, anything else =
  unavailable (no channel could be made), unless the caller had already gone: then
  the ACD hung the ringing leg up and the offer was canceled. Reason 8 is
  congestion (the network refused, not the agent), as is a leg's Hangup cause 34
  or 38 when only the channel can tell.
- An offer's leg runs ``callcenter-connect``: answered (Success) is not yet talking,
  as the dialplan may first ask the far end to press 1 (``CC_CONFIRM``). A leg
  that hangs up before it ever reached ``Bridge()`` with its caller did not
  connect: the offer failed ``unconfirmed`` while the caller still waits, or was
  ``canceled`` if the caller had gone. Until then the offer is open (the call is
  ringing, and does not end before the leg does).
- In a ConfBridge (capture 16) nothing merges Linkedids: the leg is tied to the call
  by ``CC_CALL_ID`` (the Originate's variable, a Setvar on the caller, or the
  ``Conference`` the caller joins).
- A call moved from ``Bridge()`` into its conference (the caller Redirected there,
  the agent's ``Bridge()`` returning into ``callcenter-conf`` behind it), put on
  hold (the caller Redirected to ``callcenter-wait``) or handed from one leg to
  another only moves channels between bridges: no channel hangs up, so no leg
  ends and the call goes on. Who left a shared bridge first is still what
  ``CallEnded.ended_by`` says. A held caller never raises ``CallCenterEnqueue``
  again, and is not adopted by a resync while its conference has members.

- A waiting caller who presses 1 goes to ``[callcenter-callback]``, which raises
  ``UserEvent: CallCenterCallback`` (``Queue``, ``Number``) on the caller's
  channel, then hangs it up: the call ends on the PBX like any abandon, after a
  ``CallbackRequested`` that tells the orchestrator to keep its place.
- After the agent hangs up, a caller of a queue with a survey goes on to
  ``[callcenter-survey]`` (the agent leg's ``Bridge()`` has the F option), which
  raises ``UserEvent: CallCenterSurvey`` (``Score``, 1-5) on the caller's
  channel and hangs up: the call ends when the caller does, ended by the agent.
- A callback attempt is an Originate of the agent's phone into
  ``callcenter-callback-out`` (announced with ``expect_callback_leg``): a call of
  its own, named by the leg (its Linkedid is the ChannelId). Once the agent
  answered, the leg's own ``Dial`` makes the customer's channel (``DialBegin``
  from the leg names it), which is that call's only caller. Bridged with the
  customer, it talks; a DialEnd ``NOANSWER`` / ``BUSY`` / ``CONGESTION`` /
  ``CHANUNAVAIL`` (or a leg that never dialed) is a customer not reached: not
  the agent's doing, so no offer fails and no agent hangs up, and the attempt
  ends (``ended_by`` None) once its leg is gone. An agent who hangs up while
  the customer still rings did not take the attempt (``unconfirmed``).
- After a reconnect, ``resync`` takes the ``CoreShowChannels`` list: channels we
  knew that are gone ended while we were away (their calls end with cause
  ``lost_during_disconnect``), channels we did not know are adopted, and a caller
  found waiting in ``callcenter-wait`` becomes a call, enqueued as long ago as its
  channel has existed. ``FullyBooted`` tells a restarted PBX (its Uptime went back,
  or its boot time moved): then every call we knew is lost at once, before
  anything with a recycled channel name can be confused with it.
- Local channel optimization (``LocalOptimizationBegin``) swaps the agent's device
  channel in for the leg's ``;1`` half: the leg lives on in that channel, so the
  ``;1`` hanging up (which may come before ``LocalOptimizationEnd``) is not the
  agent hanging up.

The tracker never looks at a clock: ``at`` comes with each frame, so a replay of a
capture gives the same domain events every time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import structlog

from callcenter.ami import events as ev
from callcenter.ami.channels import Channel, Channels
from callcenter.ami.message import Message

log = structlog.get_logger(__name__)

ENQUEUE_USER_EVENT = "CallCenterEnqueue"
CALLBACK_USER_EVENT = "CallCenterCallback"
SURVEY_USER_EVENT = "CallCenterSurvey"
#: what the survey asks for: one key, 1 (worst) to 5 (best)
SURVEY_SCORES = frozenset({"1", "2", "3", "4", "5"})
WAIT_CONTEXT = "callcenter-wait"
#: a call's own ConfBridge, once an earlier run moved it there (hold, transfer)
CONFERENCE_CONTEXT = "callcenter-conf"
#: Channel variables of a waiting caller that a resync needs to adopt it.
ADOPTION_VARIABLES = ("CC_QUEUE", "CC_ACCOUNT", "CC_CALL_ID")
CONFERENCE_APPLICATION = "ConfBridge"
#: How callcenter names the ChannelIds of the legs it originates (offers and
#: added parties): after a restart, a channel so named is a leg of an earlier run.
OUR_LEG_PREFIXES = ("agentleg-", "party-")
#: device states of things that are not phones: a ConfBridge and its announcer
_NOT_PHONES = ("Local/", "CBAnn/", "confbridge:")
_UNREACHABLE_DEVICE_STATES = frozenset({"UNAVAILABLE", "INVALID"})
_UNREACHABLE_CONTACTS = frozenset({"Removed", "Unreachable"})
_FAILURE_REASONS: dict[str, ev.OfferFailure] = {"3": "no_answer", "5": "busy", "8": "congestion"}
#: Q.850 causes: 17 user busy, 19 no answer, 34 circuit/channel congestion,
#: 38 network out of order
_HANGUP_CAUSES: dict[str, ev.OfferFailure] = {
    "17": "busy",
    "19": "no_answer",
    "34": "congestion",
    "38": "congestion",
}
#: a callback's Dial to the customer ended without them (DialEnd's DialStatus)
_UNREACHED: dict[str, str] = {
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CONGESTION": "congestion",
    "CHANUNAVAIL": "unavailable",
}
_MAX_UNMATCHED = 256
LOST: Final = "lost_during_disconnect"

LegResult = Literal["pending", "answered", "failed"]


@dataclass(slots=True)
class Leg:
    """One offer: an agent leg we originated."""

    leg_id: str
    action_id: str
    agent_target: str
    caller_channel: str
    call_id: str
    linkedid: str | None = None  # the call it belongs to, once known
    result: LegResult = "pending"
    rang: bool = False
    bridged: bool = False
    hung_up: bool = False
    #: the channel that carries the agent now: the leg's own (``leg_id``), or the
    #: device channel a Local optimization swapped in
    primary: str = ""
    #: the device channel the leg's Local ``;2`` dialed (DialBegin)
    device: str | None = None
    #: Its OriginateResponse went to a connection that is gone; only the channel
    #: itself can tell how the offer ends.
    response_lost: bool = False
    #: An offer (``callcenter-connect``): answering is not yet talking; the leg
    #: connects only once it is bridged with its caller. A conference leg talks
    #: as soon as it answers (to whoever is in the conference).
    must_bridge: bool = False
    #: A callback attempt (``callcenter-callback-out``): a call of its own from
    #: the start (``linkedid`` is ``leg_id``), whose caller is the customer the
    #: answered leg dials.
    callback: bool = False
    #: callback: the leg's Dial to the customer began (DialBegin from the leg)
    dialed: bool = False
    #: callback: the customer was not reached (``CustomerUnreached`` was said)
    unreached: bool = False


@dataclass(slots=True)
class Call:
    linkedid: str
    caller_uniqueid: str
    legs: list[str] = field(default_factory=list)
    ever_bridged: bool = False
    caller_gone: bool = False
    #: Who left first the last time the caller and an agent stopped sharing a bridge.
    last_break: ev.Party | None = None
    #: its channels vanished while the link was down (or the PBX restarted)
    lost: bool = False
    #: a callback attempt's call: its only caller-side channel is the customer's
    #: (a device the agent's Local leg dials is born in the same Linkedid)
    callback: bool = False


class CallTracker:
    """Follows the calls of one PBX. Feed it every AMI event in arrival order."""

    def __init__(self, pbx: str, *, boot_time_slack_s: float | None = 30.0) -> None:
        """``boot_time_slack_s``: how far the PBX's boot time (``at`` - Uptime) may
        move between two logins before it counts as a restart; None when ``at`` is
        not wall-clock time (a replay), leaving only "Uptime went back"."""
        self.pbx = pbx
        self._boot_time_slack_s = boot_time_slack_s
        self._channels = Channels()
        self._by_primary: dict[str, str] = {}  # device channel uniqueid -> leg id
        self._devices: dict[str, bool] = {}  # device -> reachable
        self._last_boot: tuple[int, float] | None = None  # (uptime, at)
        self._restarted = False
        self._known_at_disconnect: set[str] | None = None
        self._snapshot: dict[str, Message] = {}
        self._calls: dict[str, Call] = {}
        self._legs: dict[str, Leg] = {}
        self._legs_by_action: dict[str, str] = {}
        self._call_ids: dict[str, str] = {}  # our call id -> Linkedid
        self._unmatched: OrderedDict[str, Message] = OrderedDict()
        self._out: list[ev.DomainEvent] = []
        self._at = 0.0

    # -- public API ---------------------------------------------------------

    def feed(self, msg: Message, at: float) -> list[ev.DomainEvent]:
        """Apply one AMI event; return the domain events it caused, in order."""
        self._at = at
        handler = _HANDLERS.get(msg.event or "")
        if handler is not None:
            handler(self, msg)
        out, self._out = self._out, []
        return out

    def expect_agent_leg(
        self,
        *,
        leg_id: str,
        action_id: str,
        agent_target: str,
        caller_channel: str,
        call_id: str,
        linkedid: str | None = None,
        must_bridge: bool = False,
    ) -> None:
        """Announce an Originate of an agent leg (``ChannelId: leg_id``).

        Call it before the action is sent. If it comes late (a replay), whatever
        already happened to the leg is reported with the next ``feed``.
        ``must_bridge``: an offer into ``callcenter-connect``, which has connected
        only once bridged with its caller (``Leg.must_bridge``).
        """
        if leg_id in self._legs:
            return  # announced twice: the first announcement already tracks it
        leg = Leg(
            leg_id,
            action_id,
            agent_target,
            caller_channel,
            call_id,
            primary=leg_id,
            must_bridge=must_bridge,
        )
        self._legs[leg_id] = leg
        self._legs_by_action[action_id] = leg_id
        self._prune_unbound()
        if linkedid is not None and linkedid in self._calls:
            self._bind(leg, self._calls[linkedid])
        else:
            self._try_bind(leg)

    def expect_callback_leg(
        self, *, leg_id: str, action_id: str, agent_target: str, call_id: str
    ) -> None:
        """Announce the Originate of a callback attempt (``ChannelId: leg_id`` into
        ``callcenter-callback-out``), before it is sent. The attempt is a call of
        its own named by the leg: its events carry ``leg_id`` as their Linkedid
        from the agent's ringing on, and it gets its caller (the customer) when
        the answered leg dials them."""
        if leg_id in self._legs:
            return
        leg = Leg(
            leg_id,
            action_id,
            agent_target,
            "",
            call_id,
            linkedid=leg_id,
            primary=leg_id,
            must_bridge=True,
            callback=True,
        )
        self._legs[leg_id] = leg
        self._legs_by_action[action_id] = leg_id
        self._catch_up(leg)

    def connection_lost(self) -> None:
        """The link dropped: from now until ``resync``, no OriginateResponse of the
        old connection will arrive, and the channels we know may be gone."""
        self._known_at_disconnect = {channel.uniqueid for channel in self._channels}
        for leg in self._legs.values():
            if leg.result == "pending":
                leg.response_lost = True

    def calls_needing_variables(self, snapshot: Sequence[Message]) -> list[str]:
        """Channels of a ``CoreShowChannels`` list that are callers we do not know,
        waiting in ``callcenter-wait`` (or talking there, through ``Bridge()``,
        with a leg an earlier run originated): the shell fetches their
        ``ADOPTION_VARIABLES`` (Getvar) so ``resync`` can adopt them."""
        with_our_legs = _bridges_with_our_legs(snapshot)
        return [
            uniqueid
            for item in snapshot
            if (uniqueid := item.get("Uniqueid") or "")
            and (item.get("Linkedid") or "") not in self._calls
            and self._legs.get(uniqueid.partition(";")[0]) is None
            and (
                (
                    item.get("Context") == WAIT_CONTEXT
                    and (not item.get("BridgeId") or item.get("BridgeId") in with_our_legs)
                )
                or (
                    # a caller talking in its conference (not a leg, nor its announcer)
                    item.get("Context") == CONFERENCE_CONTEXT
                    and item.get("BridgeId") in with_our_legs
                    and not uniqueid.startswith(OUR_LEG_PREFIXES)
                    and not (item.get("Channel") or "").startswith("CBAnn/")
                )
            )
        ]

    def resync(
        self,
        snapshot: Sequence[Message],
        at: float,
        variables: Mapping[str, Mapping[str, str]] | None = None,
    ) -> list[ev.DomainEvent]:
        """Both resync steps at once (replays and tests); the live link runs them
        apart, because fetching the variables takes round trips."""
        return self.resync_channels(snapshot, at) + self.finish_resync(variables or {}, at)

    def resync_channels(self, snapshot: Sequence[Message], at: float) -> list[ev.DomainEvent]:
        """Agree with the PBX's channel list again after (re)connecting.

        ``snapshot`` is the ``CoreShowChannel`` items of a CoreShowChannels, applied
        at the point of the event stream where its list completed. Channels we knew
        that it lacks are gone (their calls end ``lost_during_disconnect``); the
        ones it has are adopted with their state and bridge. Offers whose response
        went to the old connection are settled by their ChannelId: a leg channel
        that does not exist never rang."""
        self._at = at
        live = {item.get("Uniqueid") or "": item for item in snapshot}
        live.pop("", None)
        self._settle_against(live)
        out, self._out = self._out, []
        return out

    def finish_resync(
        self, variables: Mapping[str, Mapping[str, str]], at: float
    ) -> list[ev.DomainEvent]:
        """Adopt the waiting callers ``calls_needing_variables`` named, given their
        channel variables (one that hung up meanwhile is skipped); then say the
        link is in step again (``LinkResynced``)."""
        self._at = at
        for uniqueid, found in variables.items():
            waiting = self._snapshot.get(uniqueid)
            if waiting is not None:
                self._adopt_waiting_caller(waiting, found, at)
        stale = self._stale_legs()
        self._snapshot = {}
        restarted, self._restarted = self._restarted, False
        self._emit(ev.LinkResynced(self.pbx, frozenset(self._calls), restarted, at, stale))
        out, self._out = self._out, []
        return out

    def leg_channel(self, leg_id: str) -> str | None:
        """The channel name of an agent leg while it exists (to hang it up)."""
        leg = self._legs.get(leg_id)
        channel = self._channels.get(leg.primary if leg is not None else leg_id)
        return channel.name if channel is not None else None

    def leg_dialplan_channel(self, leg_id: str) -> str | None:
        """The name of the channel that runs the leg's dialplan (the one the
        Originate's ``ChannelId`` named: the Local ``;1``, or the PJSIP channel
        itself), while it still carries the agent. None once a Local optimization
        swapped the agent's device in for it: what is set on that ``;1`` is never
        read again, and the device runs no dialplan of ours."""
        leg = self._legs.get(leg_id)
        if leg is not None and leg.primary != leg_id:
            return None
        channel = self._channels.get(leg_id)
        return channel.name if channel is not None else None

    @property
    def live_calls(self) -> list[str]:
        """Linkedids of the calls in progress (for probes and tests)."""
        return list(self._calls)

    # -- who is who -----------------------------------------------------------

    def _leg_of(self, channel: Channel) -> Leg | None:
        leg = self._legs.get(channel.uniqueid.partition(";")[0])
        if leg is None and channel.uniqueid in self._by_primary:
            leg = self._legs.get(self._by_primary[channel.uniqueid])
        return leg

    def _primary_leg(self, channel: Channel) -> Leg | None:
        """The leg whose bridged channel this is (the Local ``;1`` half, the PJSIP
        channel itself, or the device channel swapped in by an optimization)."""
        leg = self._legs.get(self._by_primary.get(channel.uniqueid, channel.uniqueid))
        return leg if leg is not None and leg.primary == channel.uniqueid else None

    def _caller_call(self, channel: Channel) -> Call | None:
        """The call this channel is a caller-side channel of, if any. A callback
        attempt's caller is the customer its leg dialed, and nothing else."""
        if self._leg_of(channel) is not None:
            return None
        call = self._calls.get(channel.origin_linkedid)
        if call is not None and call.callback and channel.uniqueid != call.caller_uniqueid:
            return None
        return call

    def _caller_side(self, call: Call) -> list[Channel]:
        return [c for c in self._channels.born_in(call.linkedid) if self._caller_call(c) is call]

    def _is_caller_party(self, call: Call, channel: Channel) -> bool:
        """The customer's own channels: the one that enqueued, and the call's first."""
        return channel.uniqueid in (call.caller_uniqueid, call.linkedid)

    def _leg_call(self, leg: Leg) -> Call | None:
        return None if leg.linkedid is None else self._calls.get(leg.linkedid)

    # -- binding legs to calls --------------------------------------------------

    def _try_bind(self, leg: Leg) -> None:
        if leg.linkedid is not None:
            return
        call = self._find_call(leg)
        if call is not None:
            self._bind(leg, call)

    def _find_call(self, leg: Leg) -> Call | None:
        if leg.caller_channel:
            channel = self._channels.named(leg.caller_channel)
            call = None if channel is None else self._caller_call(channel)
            if call is not None:
                return call
        linkedid = self._call_ids.get(leg.call_id) if leg.call_id else None
        return None if linkedid is None else self._calls.get(linkedid)

    def _bind(self, leg: Leg, call: Call) -> None:
        leg.linkedid = call.linkedid
        call.legs.append(leg.leg_id)
        if leg.call_id:
            self._call_ids.setdefault(leg.call_id, call.linkedid)
        self._catch_up(leg)

    def _prune_unbound(self) -> None:
        """Forget the oldest offers that never found their call (e.g. announced after
        the call had ended), so a long-running tracker stays bounded."""
        unbound = [leg for leg in self._legs.values() if leg.linkedid is None]
        for leg in unbound[: max(0, len(unbound) - _MAX_UNMATCHED)]:
            self._legs.pop(leg.leg_id, None)
            self._legs_by_action.pop(leg.action_id, None)

    def _bind_waiting_legs(self) -> None:
        for leg in list(self._legs.values()):
            if leg.linkedid is None:
                self._try_bind(leg)

    def _learn_call_id(self, call: Call, call_id: str) -> None:
        if call_id and self._call_ids.get(call_id) != call.linkedid:
            self._call_ids[call_id] = call.linkedid
            self._bind_waiting_legs()

    def _catch_up(self, leg: Leg) -> None:
        """Report what happened to a leg before we knew which call it served."""
        channel = self._channels.get(leg.primary)
        if channel is not None and channel.state == "Ringing":
            self._leg_ringing(leg)
        response = self._unmatched.pop(leg.leg_id, None)
        if response is None and leg.action_id in self._unmatched:
            response = self._unmatched.pop(leg.action_id)
        if response is not None:
            self._originate_result(leg, response)
        if channel is not None and channel.bridge_id is not None:
            self._check_bridge(channel.bridge_id)

    # -- emitting -------------------------------------------------------------

    def _emit(self, event: ev.DomainEvent) -> None:
        self._out.append(event)

    def _leg_ringing(self, leg: Leg) -> None:
        if leg.linkedid is None or leg.rang or leg.result != "pending":
            return
        leg.rang = True
        self._emit(
            ev.AgentLegRinging(self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, self._at)
        )

    def _leg_answered(self, leg: Leg) -> None:
        if leg.linkedid is None or leg.result != "pending":
            return
        leg.result = "answered"
        self._emit(
            ev.AgentLegAnswered(self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, self._at)
        )

    @staticmethod
    def _open(leg: Leg) -> bool:
        """The offer is unresolved: still ringing, or answered but not (yet)
        bridged with its caller (the far end is being asked to press 1)."""
        if leg.result == "pending":
            return True
        return leg.must_bridge and leg.result == "answered" and not leg.bridged

    def _leg_failed(self, leg: Leg, reason: ev.OfferFailure) -> None:
        if leg.linkedid is None or not self._open(leg):
            return
        leg.result = "failed"
        call = self._leg_call(leg)
        if leg.unreached:
            # ``CustomerUnreached`` said how this callback attempt went.
            if call is not None:
                self._maybe_end(call)
            return
        if call is not None and call.lost:
            reason = LOST
        elif call is not None and call.caller_gone and not call.callback:
            # (A callback's customer going is no reason: they were never waiting.)
            reason = "canceled"
        self._emit(
            ev.AgentLegFailed(
                self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, reason, self._at
            )
        )
        if call is not None:
            self._maybe_end(call)
        elif leg.callback:
            self._forget_leg_if_done(leg)

    def _leg_bridged(self, leg: Leg, call: Call) -> None:
        self._leg_answered(leg)
        call.ever_bridged = True
        if leg.bridged:
            return
        leg.bridged = True
        self._emit(ev.Bridged(self.pbx, call.linkedid, leg.leg_id, leg.agent_target, self._at))

    def _leg_hung_up(self, leg: Leg, cause: str) -> None:
        if leg.result == "pending" and leg.response_lost:
            self._leg_failed(leg, _HANGUP_CAUSES.get(cause, "unavailable"))
        if self._unreached_leg_hung_up(leg):
            return
        if leg.result == "answered" and self._open(leg):
            # Answered, never bridged: not confirmed (or canceled, or lost, as
            # ``_leg_failed`` finds the call), and the leg is over.
            leg.hung_up = True
            self._leg_failed(leg, "unconfirmed")
            self._forget_leg_if_done(leg)
            return
        if leg.result != "answered" or leg.hung_up or leg.linkedid is None:
            return
        leg.hung_up = True
        self._emit(ev.AgentHungUp(self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, self._at))
        call = self._leg_call(leg)
        if call is not None:
            self._maybe_end(call)
        self._forget_leg_if_done(leg)

    def _unreached_leg_hung_up(self, leg: Leg) -> bool:
        """A callback leg that answered and hangs up before it was bridged: if
        its customer was not reached (DialEnd said why, or its Dial never made a
        channel), ``CustomerUnreached`` says so, and the attempt ends with the
        leg, ``ended_by`` nobody. True when so; False leaves the leg to the
        offers' rules (an agent who gave up while the customer rang did not
        confirm the attempt)."""
        if not (leg.callback and leg.result == "answered" and self._open(leg)):
            return False
        if not leg.dialed:
            self._customer_unreached(leg, "unavailable")
        if not leg.unreached:
            return False
        leg.hung_up = True
        leg.result = "failed"
        call = self._leg_call(leg)
        if call is not None:
            self._maybe_end(call)
        else:
            self._emit(ev.CallEnded(self.pbx, leg.leg_id, None, self._at))
        self._forget_leg_if_done(leg)
        return True

    def _customer_unreached(self, leg: Leg, reason: str) -> None:
        if leg.unreached or leg.linkedid is None:
            return
        self._leg_answered(leg)  # its Dial ran: the agent had answered
        leg.unreached = True
        self._emit(ev.CustomerUnreached(self.pbx, leg.linkedid, leg.leg_id, reason, self._at))

    def _caller_hung_up(self, call: Call) -> None:
        if call.caller_gone:
            return
        call.caller_gone = True
        if call.callback and not call.ever_bridged:
            return  # a callback's customer who never answered hung up on nobody
        self._emit(ev.CallerHungUp(self.pbx, call.linkedid, self._phase(call), self._at))

    def _phase(self, call: Call) -> ev.CallPhase:
        """Once the caller has talked to an agent, hold and transfers are part of the
        conversation; before that, an offer in flight means the caller was ringing."""
        if call.ever_bridged:
            return "talking"
        if any(self._open(self._legs[leg_id]) for leg_id in call.legs):
            return "ringing"
        return "waiting"

    def _maybe_end(self, call: Call) -> None:
        """A call ends when the caller's channels are gone and no offer is still
        unresolved; an answered agent leg may outlive it (it reports AgentHungUp)."""
        if call.linkedid not in self._calls or self._caller_side(call):
            return
        if any(self._open(self._legs[leg_id]) for leg_id in call.legs):
            return
        self._caller_hung_up(call)  # a lost call's caller went too, unseen
        if call.lost:
            # Who left first was not seen, unless it was before the outage.
            lost = ev.CallEnded(self.pbx, call.linkedid, call.last_break, self._at, cause=LOST)
            self._emit(lost)
        else:
            # A callback attempt that never talked was ended by nobody.
            ended_by = call.last_break if call.callback else call.last_break or "caller"
            self._emit(ev.CallEnded(self.pbx, call.linkedid, ended_by, self._at))
        del self._calls[call.linkedid]
        self._call_ids = {k: v for k, v in self._call_ids.items() if v != call.linkedid}
        for leg_id in call.legs:
            self._forget_leg_if_done(self._legs[leg_id])

    def _forget_leg_if_done(self, leg: Leg) -> None:
        if leg.linkedid in self._calls:
            return
        if leg.result == "failed" or leg.hung_up or self._channels.get(leg.primary) is None:
            self._legs.pop(leg.leg_id, None)
            self._legs_by_action.pop(leg.action_id, None)
            for uniqueid in (leg.primary, leg.device):
                if uniqueid is not None and self._by_primary.get(uniqueid) == leg.leg_id:
                    del self._by_primary[uniqueid]

    # -- bridges ------------------------------------------------------------------

    def _conversations(self, bridge_id: str) -> dict[str, list[Leg]]:
        """Calls whose caller shares this bridge with some of their agent legs."""
        callers: set[str] = set()
        legs: dict[str, list[Leg]] = {}
        for member in self._channels.members(bridge_id):
            call = self._caller_call(member)
            if call is not None:
                callers.add(call.linkedid)
            leg = self._primary_leg(member)
            if leg is not None and leg.linkedid is not None:
                legs.setdefault(leg.linkedid, []).append(leg)
        return {linkedid: found for linkedid, found in legs.items() if linkedid in callers}

    def _check_bridge(self, bridge_id: str) -> None:
        for linkedid, legs in self._conversations(bridge_id).items():
            call = self._calls.get(linkedid)
            if call is not None:
                for leg in legs:
                    self._leg_bridged(leg, call)

    def _leave_bridge(self, channel: Channel) -> None:
        bridge_id = channel.bridge_id
        if bridge_id is None:
            return
        before = self._conversations(bridge_id)
        self._channels.leave_bridge(channel)
        after = self._conversations(bridge_id)
        party: ev.Party = "caller" if self._caller_call(channel) is not None else "agent"
        for linkedid in before.keys() - after.keys():
            call = self._calls.get(linkedid)
            if call is not None:
                call.last_break = party

    # -- hangups ------------------------------------------------------------------

    def _channel_lost(self, channel: Channel) -> None:
        """A channel missing from a resync's snapshot: it went while we were away."""
        call = self._caller_call(channel)
        if call is not None:
            call.lost = True
        leg = self._primary_leg(channel)
        if leg is not None and self._open(leg):
            # Why its phone stopped ringing (or its prompt ended) is unknown: not
            # the agent's fault.
            self._leg_failed(leg, LOST)
        self._channel_gone(channel, cause="")

    def _channel_gone(self, channel: Channel, cause: str) -> None:
        self._leave_bridge(channel)
        self._channels.remove(channel)
        leg = self._primary_leg(channel)
        if leg is not None:
            self._leg_hung_up(leg, cause)
            return
        call = self._caller_call(channel)
        if call is None:
            return
        if self._is_caller_party(call, channel):
            self._caller_hung_up(call)
        self._maybe_end(call)

    # -- resync and restarts ----------------------------------------------------

    def _adopt_channel(self, item: Message) -> None:
        """A ``CoreShowChannel`` item: note the channel (new ones are adopted) and
        take its state and bridge from the PBX, which is the truth now."""
        channel = self._channels.observe(item)
        if channel is None:
            return
        bridge_id = item.get("BridgeId") or None
        if bridge_id != channel.bridge_id:
            if bridge_id is None:
                self._leave_bridge(channel)
            else:
                self._channels.enter_bridge(channel, bridge_id)
        leg = self._leg_of(channel)
        if leg is not None:
            self._try_bind(leg)
            if channel.state == "Ringing" and self._primary_leg(channel) is leg:
                self._leg_ringing(leg)

    def _adopt_waiting_caller(self, item: Message, variables: Mapping[str, str], at: float) -> None:
        """A caller waiting in ``callcenter-wait`` that we never saw enqueue (it came
        while the link was down, or before this process started). One bridged
        with a leg an earlier run originated is talking with that agent: it is
        adopted with that leg, bridged (the orchestrator knows whose it is); one
        bridged with anything else is left alone."""
        uniqueid, linkedid = item.get("Uniqueid") or "", item.get("Linkedid") or ""
        queue = variables.get("CC_QUEUE", "")
        channel = self._channels.get(uniqueid)
        if not queue or not linkedid or channel is None:
            return
        legs = self._our_legs_bridged_with(channel)
        if channel.bridge_id is not None and not legs:
            return
        if linkedid in self._calls or self._leg_of(channel) is not None:
            return
        conference = variables.get("CC_CALL_ID", "")
        on_hold = channel.bridge_id is None and self._conference_in_use(conference)
        if on_hold:
            # its agent is in its conference, waiting to resume it
            legs = self._our_legs_in_conference(conference)
            if not legs:
                return
        in_conference = on_hold or item.get("Context") == CONFERENCE_CONTEXT
        self._calls[linkedid] = Call(linkedid, uniqueid)
        self._emit(
            ev.CallArrived(
                pbx=self.pbx,
                linkedid=linkedid,
                caller_channel=channel.name,
                caller_uniqueid=uniqueid,
                caller_number=_known(item.get("CallerIDNum")),
                caller_name=_known(item.get("CallerIDName")),
                queue=queue,
                account=variables.get("CC_ACCOUNT", ""),
                at=at - _duration_s(item.get("Duration")),
                adopted=True,
                in_conference=in_conference,
                on_hold=on_hold,
            )
        )
        call = self._calls[linkedid]
        for leg_channel in legs:
            self._adopt_talking_leg(call, channel, leg_channel, at)

    def _our_legs_in_conference(self, call_id: str) -> list[Channel]:
        return [
            channel
            for uniqueid, item in self._snapshot.items()
            if item.get("Application") == CONFERENCE_APPLICATION
            and item.get("ApplicationData") == call_id
            and uniqueid.startswith(OUR_LEG_PREFIXES)
            and uniqueid not in self._legs
            and (channel := self._channels.get(uniqueid)) is not None
        ]

    def _our_legs_bridged_with(self, caller: Channel) -> list[Channel]:
        if caller.bridge_id is None:
            return []
        return [
            c
            for c in self._channels
            if c.bridge_id == caller.bridge_id
            and c is not caller
            and c.uniqueid.startswith(OUR_LEG_PREFIXES)
            and c.uniqueid not in self._legs
        ]

    def _adopt_talking_leg(self, call: Call, caller: Channel, channel: Channel, at: float) -> None:
        """An earlier run's agent leg found talking with an adopted caller: tracked
        from now on as an answered, bridged leg of the call."""
        leg_id = channel.uniqueid
        leg = Leg(
            leg_id=leg_id,
            action_id="",
            agent_target=channel.name,
            caller_channel=caller.name,
            call_id="",
            linkedid=call.linkedid,
            result="answered",
            rang=True,
            bridged=True,
            primary=leg_id,
        )
        self._legs[leg_id] = leg
        call.legs.append(leg_id)
        call.ever_bridged = True
        self._emit(ev.Bridged(self.pbx, call.linkedid, leg_id, leg.agent_target, at))

    def _stale_legs(self) -> frozenset[str]:
        """Legs an earlier run originated that are still up, bridged to nobody, and
        that no adopted call took over (ringing, say): nobody will ever act on
        them but the orchestrator, which hangs them up before it offers anything."""
        bridged = {
            uniqueid.partition(";")[0]
            for uniqueid, item in self._snapshot.items()
            if item.get("BridgeId")
        }
        return frozenset(
            base
            for uniqueid in self._snapshot
            if (base := uniqueid.partition(";")[0]).startswith(OUR_LEG_PREFIXES)
            and base not in self._legs
            # in a bridge it is talking with someone: never cut a conversation
            and base not in bridged
        )

    def _conference_in_use(self, call_id: str) -> bool:
        """Whether a channel of the resync's snapshot is in the conference
        ``call_id`` (CoreShowChannel names the application a channel runs)."""
        return bool(call_id) and any(
            item.get("Application") == CONFERENCE_APPLICATION
            and item.get("ApplicationData") == call_id
            for item in self._snapshot.values()
        )

    def _on_fully_booted(self, msg: Message) -> None:
        try:
            uptime = int(msg.get("Uptime") or "")
        except ValueError:
            return
        last, self._last_boot = self._last_boot, (uptime, self._at)
        if last is None:
            return
        last_uptime, last_at = last
        restarted = uptime < last_uptime
        if not restarted and self._boot_time_slack_s is not None:
            moved = (self._at - uptime) - (last_at - last_uptime)
            restarted = abs(moved) > self._boot_time_slack_s
        if restarted:
            self._pbx_restarted()

    def _settle_against(self, live: Mapping[str, Message]) -> None:
        """Make the tracker agree with ``live``, the PBX's channels by Uniqueid:
        known channels it lacks are lost (only those known before the link
        dropped: later ones may simply be newer than the list), the rest take its
        state and bridge, offers whose leg never appeared fail lost, and bridges
        and calls are settled again."""
        stale = self._known_at_disconnect
        self._known_at_disconnect = None
        for channel in self._channels:
            if channel.uniqueid not in live and (stale is None or channel.uniqueid in stale):
                self._channel_lost(channel)
        for item in live.values():
            self._adopt_channel(item)
        self._snapshot = dict(live)
        for leg in list(self._legs.values()):
            if leg.result != "pending" or leg.linkedid is None:
                continue
            if self._channels.get(leg.primary) is None and leg.response_lost:
                self._leg_failed(leg, LOST)
        bridges = {c.bridge_id for c in self._channels if c.bridge_id is not None}
        for bridge_id in sorted(bridges):
            self._check_bridge(bridge_id)
        for call in list(self._calls.values()):
            self._maybe_end(call)

    def _pbx_restarted(self) -> None:
        """Nothing survives an Asterisk restart: every call we knew is lost now,
        before a recycled channel name can be taken for one of its channels. It is
        a resync against an empty channel list."""
        self._restarted = True
        self.connection_lost()
        self._settle_against({})
        self._legs = {k: leg for k, leg in self._legs.items() if leg.linkedid in self._calls}
        self._legs_by_action = {a: k for a, k in self._legs_by_action.items() if k in self._legs}
        self._by_primary.clear()
        self._unmatched.clear()

    # -- devices --------------------------------------------------------------------

    def _on_device_state(self, msg: Message) -> None:
        device = msg.get("Device") or ""
        if device and not device.startswith(_NOT_PHONES):
            self._device_seen(device, msg.get("State") not in _UNREACHABLE_DEVICE_STATES)

    def _on_contact_status(self, msg: Message) -> None:
        endpoint = msg.get("EndpointName") or msg.get("AOR")
        status = msg.get("ContactStatus")
        if not endpoint or status not in ("Reachable", "NonQualified", *_UNREACHABLE_CONTACTS):
            return
        self._device_seen(f"PJSIP/{endpoint}", status not in _UNREACHABLE_CONTACTS)

    def _device_seen(self, device: str, reachable: bool) -> None:
        if self._devices.get(device) != reachable:
            self._devices[device] = reachable
            self._emit(ev.PhoneReachability(self.pbx, device, reachable, self._at))

    # -- Local channel optimization -------------------------------------------------

    def _on_dial_begin(self, msg: Message) -> None:
        """A leg's Local ``;2`` dialing the agent's device: remember that channel,
        which carries the agent if the Local pair optimizes away. A callback leg
        itself dialing: that is its customer."""
        dialer = msg.get("Uniqueid") or ""
        dest = msg.get("DestUniqueid")
        leg = self._legs.get(dialer.partition(";")[0])
        if leg is not None and dest and dialer.endswith(";2"):
            leg.device = dest
        elif leg is not None and dest and leg.callback and dialer == leg.leg_id:
            self._customer_dialed(leg, dest)

    def _customer_dialed(self, leg: Leg, customer: str) -> None:
        """A callback leg runs ``callcenter-callback-out``, so the agent answered;
        the attempt is now a call whose caller is the customer's channel."""
        if leg.dialed or leg.linkedid is None or leg.linkedid in self._calls:
            return
        leg.dialed = True
        self._leg_answered(leg)
        self._calls[leg.linkedid] = Call(leg.linkedid, customer, [leg.leg_id], callback=True)

    def _on_dial_end(self, msg: Message) -> None:
        """A callback leg's Dial ended without its customer: not reached, and why."""
        reason = _UNREACHED.get(msg.get("DialStatus") or "")
        leg = self._legs.get(msg.get("Uniqueid") or "")
        if reason is None or leg is None or not leg.callback or leg.bridged:
            return
        call = self._leg_call(leg)
        if call is not None and msg.get("DestUniqueid") == call.caller_uniqueid:
            self._customer_unreached(leg, reason)

    def _on_local_optimization_begin(self, msg: Message) -> None:
        one = msg.get("LocalOneUniqueid") or ""
        leg = self._legs.get(one)
        if leg is None or leg.primary != one:
            return
        carrier = leg.device or self._other_member(msg.get("LocalTwoUniqueid") or "")
        if carrier is None:
            source = msg.get("SourceUniqueid") or ""
            channel = self._channels.get(source)
            carrier = source if channel is not None and not self._caller_call(channel) else None
        if carrier:
            leg.primary = carrier
            self._by_primary[carrier] = leg.leg_id

    def _on_local_optimization_end(self, msg: Message) -> None:
        if (msg.get("Success") or "").lower() in ("yes", "true", "1"):
            return
        one = msg.get("LocalOneUniqueid") or ""
        leg = self._legs.get(one)
        if leg is not None and leg.primary != one:
            self._by_primary.pop(leg.primary, None)
            leg.primary = one

    def _other_member(self, uniqueid: str) -> str | None:
        channel = self._channels.get(uniqueid)
        if channel is None or channel.bridge_id is None:
            return None
        others = [c.uniqueid for c in self._channels.members(channel.bridge_id) if c is not channel]
        return others[0] if len(others) == 1 else None

    # -- event handlers -----------------------------------------------------------

    def _on_channel_event(self, msg: Message) -> None:
        """Newchannel / Newstate: note the channel; a leg's Ringing state is an offer
        reaching the agent's phone."""
        channel = self._channels.observe(msg)
        if channel is None:
            return
        leg = self._leg_of(channel)
        if leg is None:
            return
        self._try_bind(leg)
        if channel.state == "Ringing" and self._primary_leg(channel) is leg:
            self._leg_ringing(leg)

    def _on_rename(self, msg: Message) -> None:
        channel = self._channels.get(msg.get("Uniqueid", "") or "")
        new_name = msg.get("Newname")
        if channel is not None and new_name:
            self._channels.rename(channel, new_name)

    def _on_dial_state(self, msg: Message) -> None:
        if msg.get("DialStatus") != "RINGING":
            return
        leg = self._legs.get(msg.get("DestUniqueid", "") or "")
        if leg is not None:
            self._leg_ringing(leg)

    def _on_user_event(self, msg: Message) -> None:
        name = msg.get("UserEvent")
        if name == CALLBACK_USER_EVENT:
            self._callback_requested(msg)
            return
        if name == SURVEY_USER_EVENT:
            self._survey_answered(msg)
            return
        if name != ENQUEUE_USER_EVENT:
            return
        channel = self._channels.observe(msg)
        linkedid = msg.get("Linkedid")
        if channel is None or not linkedid or linkedid in self._calls:
            return
        if self._leg_of(channel) is not None:
            return
        self._calls[linkedid] = Call(linkedid, channel.uniqueid)
        self._emit(
            ev.CallArrived(
                pbx=self.pbx,
                linkedid=linkedid,
                caller_channel=channel.name,
                caller_uniqueid=channel.uniqueid,
                caller_number=msg.get("CallerIDNum", "") or "",
                caller_name=msg.get("CallerIDName", "") or "",
                queue=msg.get("Queue", "") or "",
                account=msg.get("Account", "") or "",
                at=self._at,
            )
        )
        self._bind_waiting_legs()

    def _callback_requested(self, msg: Message) -> None:
        """``[callcenter-callback]`` ran on the caller of a call of ours: it asked
        to be called back (at ``Number``; its caller id if that is empty) and is
        about to hang up. Anyone else's is not ours to act on."""
        call = self._raised_by_caller(msg)
        if call is None or call.callback:
            return
        number = _known(msg.get("Number")) or _known(msg.get("CallerIDNum"))
        self._emit(ev.CallbackRequested(self.pbx, call.linkedid, number, self._at))

    def _raised_by_caller(self, msg: Message) -> Call | None:
        """The call whose customer's own channel raised this UserEvent; None for
        any other channel (an agent's leg, someone else's call)."""
        channel = self._channels.observe(msg)
        call = None if channel is None else self._caller_call(channel)
        if call is None or channel is None or not self._is_caller_party(call, channel):
            return None
        return call

    def _survey_answered(self, msg: Message) -> None:
        """``[callcenter-survey]`` ran on the caller of an answered call of ours
        and raised the score keyed. The dialplan lets only 1-5 through; a score
        that is anything else (a hand-edited dialplan, a forged UserEvent
        action) is logged and dropped, never stored."""
        call = self._raised_by_caller(msg)
        if call is None or not call.ever_bridged:
            return
        score = (msg.get("Score") or "").strip()
        if score not in SURVEY_SCORES:
            log.warning(
                "survey score refused", pbx=self.pbx, linkedid=call.linkedid, score=score[:16]
            )
            return
        self._emit(ev.SurveyAnswered(self.pbx, call.linkedid, int(score), self._at))

    def _on_var_set(self, msg: Message) -> None:
        if msg.get("Variable") != "CC_CALL_ID":
            return
        channel = self._channels.observe(msg)
        call = None if channel is None else self._caller_call(channel)
        if call is not None:
            self._learn_call_id(call, msg.get("Value", "") or "")

    def _on_conference_join(self, msg: Message) -> None:
        channel = self._channels.observe(msg)
        call = None if channel is None else self._caller_call(channel)
        if call is not None:
            self._learn_call_id(call, msg.get("Conference", "") or "")

    def _on_originate_response(self, msg: Message) -> None:
        leg = self._leg_for_response(msg)
        if leg is None:
            self._remember_unmatched(msg)
            return
        self._try_bind(leg)
        if leg.linkedid is None:
            self._remember_unmatched(msg)
            return
        self._originate_result(leg, msg)

    def _leg_for_response(self, msg: Message) -> Leg | None:
        leg_id = self._legs_by_action.get(msg.action_id or "")
        if leg_id is None or leg_id not in self._legs:
            leg_id = msg.get("Uniqueid", "") or ""
        return self._legs.get(leg_id)

    def _remember_unmatched(self, msg: Message) -> None:
        """Keep a response nobody expected yet (a late expect_agent_leg); bounded."""
        key = msg.get("Uniqueid") or msg.action_id
        if not key:
            return
        self._unmatched[key] = msg
        while len(self._unmatched) > _MAX_UNMATCHED:
            self._unmatched.popitem(last=False)

    def _originate_result(self, leg: Leg, msg: Message) -> None:
        call = self._leg_call(leg)
        caller_waits = call is None or not call.caller_gone or call.callback
        if msg.get("Response") == "Success" and caller_waits:
            self._leg_answered(leg)
        elif msg.get("Response") == "Success":
            # The agent picked up after the caller had gone: nobody to talk to, so
            # the offer was canceled, and the call can end.
            self._leg_failed(leg, "canceled")
        else:
            self._leg_failed(leg, _FAILURE_REASONS.get(msg.get("Reason", "") or "", "unavailable"))

    def _on_bridge_enter(self, msg: Message) -> None:
        channel = self._channels.observe(msg)
        bridge_id = msg.get("BridgeUniqueid")
        if channel is None or not bridge_id:
            return
        self._channels.enter_bridge(channel, bridge_id)
        self._check_bridge(bridge_id)

    def _on_bridge_leave(self, msg: Message) -> None:
        channel = self._channels.get(msg.get("Uniqueid", "") or "")
        if channel is not None:
            self._leave_bridge(channel)

    def _on_hangup_request(self, msg: Message) -> None:
        """The caller's side is going: report it now, while the bridge still shows
        what the caller was doing."""
        channel = self._channels.get(msg.get("Uniqueid", "") or "")
        call = None if channel is None else self._caller_call(channel)
        if call is not None and channel is not None and self._is_caller_party(call, channel):
            self._caller_hung_up(call)

    def _on_hangup(self, msg: Message) -> None:
        channel = self._channels.get(msg.get("Uniqueid", "") or "")
        if channel is not None:
            self._channel_gone(channel, cause=msg.get("Cause", "") or "")


_HANDLERS: dict[str, Callable[[CallTracker, Message], None]] = {
    "Newchannel": CallTracker._on_channel_event,
    "Newstate": CallTracker._on_channel_event,
    "Rename": CallTracker._on_rename,
    "DialState": CallTracker._on_dial_state,
    "UserEvent": CallTracker._on_user_event,
    "VarSet": CallTracker._on_var_set,
    "ConfbridgeJoin": CallTracker._on_conference_join,
    "OriginateResponse": CallTracker._on_originate_response,
    "BridgeEnter": CallTracker._on_bridge_enter,
    "BridgeLeave": CallTracker._on_bridge_leave,
    "HangupRequest": CallTracker._on_hangup_request,
    "Hangup": CallTracker._on_hangup,
    "FullyBooted": CallTracker._on_fully_booted,
    "DeviceStateChange": CallTracker._on_device_state,
    "ContactStatus": CallTracker._on_contact_status,
    "DialBegin": CallTracker._on_dial_begin,
    "DialEnd": CallTracker._on_dial_end,
    "LocalOptimizationBegin": CallTracker._on_local_optimization_begin,
    "LocalOptimizationEnd": CallTracker._on_local_optimization_end,
}


def _bridges_with_our_legs(snapshot: Sequence[Message]) -> set[str]:
    """Bridges holding a leg an earlier run of callcenter originated."""
    return {
        bridge_id
        for item in snapshot
        if (bridge_id := item.get("BridgeId") or "")
        and (item.get("Uniqueid") or "").startswith(OUR_LEG_PREFIXES)
    }


def _known(value: str | None) -> str:
    """Asterisk says ``<unknown>`` for an absent caller id."""
    return "" if not value or value == "<unknown>" else value


def _duration_s(value: str | None) -> float:
    """CoreShowChannel's ``Duration`` (``HH:MM:SS``, hours may pass 24) in seconds."""
    try:
        hours, minutes, seconds = (int(part) for part in (value or "").split(":"))
    except ValueError:
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)


#: every AMI event the tracker reads (an Asterisk eventfilter must keep them all)
TRACKED_EVENTS: tuple[str, ...] = tuple(_HANDLERS)
_EVENT_PREFIX = b"Event: "
_TRACKED_EVENTS = frozenset(name.encode() for name in TRACKED_EVENTS)
_CALL_ID_VARSET = b"\r\nVariable: CC_CALL_ID\r\n"


def wants_frame(raw: bytes) -> bool:
    """Whether the tracker (or an action's answer) needs this raw frame parsed.

    Responses and EventList items (they carry an ActionID) always are; events only
    when the tracker handles their type, and of VarSet only ``CC_CALL_ID``. The
    rest (about half of Asterisk's output: Newexten, NewCallerid, LocalBridge...)
    is skipped unparsed: parsing is most of the listener's cost."""
    if not raw.startswith(_EVENT_PREFIX):
        return True
    end = raw.find(b"\r", 7)
    name = raw[7:] if end < 0 else raw[7:end]
    if name == b"VarSet":
        return _CALL_ID_VARSET in raw
    return name in _TRACKED_EVENTS or b"\r\nActionID: " in raw
