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
  the ACD hung the ringing leg up and the offer was canceled.
- In a ConfBridge (capture 16) nothing merges Linkedids: the leg is tied to the call
  by ``CC_CALL_ID`` (the Originate's variable, a Setvar on the caller, or the
  ``Conference`` the caller joins).

The tracker never looks at a clock: ``at`` comes with each frame, so a replay of a
capture gives the same domain events every time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Literal

from callcenter.ami import events as ev
from callcenter.ami.channels import Channel, Channels
from callcenter.ami.message import Message

ENQUEUE_USER_EVENT = "CallCenterEnqueue"
_FAILURE_REASONS: dict[str, ev.OfferFailure] = {"3": "no_answer", "5": "busy"}
_HANGUP_CAUSES: dict[str, ev.OfferFailure] = {"17": "busy", "19": "no_answer"}
_MAX_UNMATCHED = 256

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
    #: Its OriginateResponse went to a connection that is gone; only the channel
    #: itself can tell how the offer ends.
    response_lost: bool = False


@dataclass(slots=True)
class Call:
    linkedid: str
    caller_uniqueid: str
    legs: list[str] = field(default_factory=list)
    ever_bridged: bool = False
    caller_gone: bool = False
    #: Who left first the last time the caller and an agent stopped sharing a bridge.
    last_break: ev.Party | None = None


class CallTracker:
    """Follows the calls of one PBX. Feed it every AMI event in arrival order."""

    def __init__(self, pbx: str) -> None:
        self.pbx = pbx
        self._channels = Channels()
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
    ) -> None:
        """Announce an Originate of an agent leg (``ChannelId: leg_id``).

        Call it before the action is sent. If it comes late (a replay), whatever
        already happened to the leg is reported with the next ``feed``.
        """
        if leg_id in self._legs:
            return  # announced twice: the first announcement already tracks it
        leg = Leg(leg_id, action_id, agent_target, caller_channel, call_id)
        self._legs[leg_id] = leg
        self._legs_by_action[action_id] = leg_id
        self._prune_unbound()
        if linkedid is not None and linkedid in self._calls:
            self._bind(leg, self._calls[linkedid])
        else:
            self._try_bind(leg)

    def resync(self, live_uniqueids: Collection[str], at: float) -> list[ev.DomainEvent]:
        """After a reconnect: every channel missing from the snapshot (CoreShowChannels)
        has gone while we were away, and no OriginateResponse of the old connection
        will ever arrive."""
        self._at = at
        for channel in self._channels:
            if channel.uniqueid not in live_uniqueids:
                self._channel_gone(channel, cause="")
        for leg in list(self._legs.values()):
            if leg.result == "pending":
                leg.response_lost = True
                if self._channels.get(leg.leg_id) is None and leg.linkedid is not None:
                    self._leg_failed(leg, "unavailable")
        out, self._out = self._out, []
        return out

    def leg_channel(self, leg_id: str) -> str | None:
        """The channel name of an agent leg while it exists (to hang it up)."""
        channel = self._channels.get(leg_id)
        return channel.name if channel is not None else None

    @property
    def live_calls(self) -> list[str]:
        """Linkedids of the calls in progress (for probes and tests)."""
        return list(self._calls)

    # -- who is who -----------------------------------------------------------

    def _leg_of(self, channel: Channel) -> Leg | None:
        return self._legs.get(channel.uniqueid.partition(";")[0])

    def _primary_leg(self, channel: Channel) -> Leg | None:
        """The leg whose bridged channel this is (the Local ``;1`` half or the
        PJSIP channel itself)."""
        return self._legs.get(channel.uniqueid)

    def _caller_call(self, channel: Channel) -> Call | None:
        """The call this channel is a caller-side channel of, if any."""
        if self._leg_of(channel) is not None:
            return None
        return self._calls.get(channel.origin_linkedid)

    def _caller_side(self, call: Call) -> list[Channel]:
        return [c for c in self._channels.born_in(call.linkedid) if self._leg_of(c) is None]

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
        channel = self._channels.get(leg.leg_id)
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

    def _leg_failed(self, leg: Leg, reason: ev.OfferFailure) -> None:
        if leg.linkedid is None or leg.result != "pending":
            return
        leg.result = "failed"
        call = self._leg_call(leg)
        if call is not None and call.caller_gone:
            reason = "canceled"
        self._emit(
            ev.AgentLegFailed(
                self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, reason, self._at
            )
        )
        if call is not None:
            self._maybe_end(call)

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
        if leg.result != "answered" or leg.hung_up or leg.linkedid is None:
            return
        leg.hung_up = True
        self._emit(ev.AgentHungUp(self.pbx, leg.linkedid, leg.leg_id, leg.agent_target, self._at))
        self._forget_leg_if_done(leg)

    def _caller_hung_up(self, call: Call) -> None:
        if call.caller_gone:
            return
        call.caller_gone = True
        self._emit(ev.CallerHungUp(self.pbx, call.linkedid, self._phase(call), self._at))

    def _phase(self, call: Call) -> ev.CallPhase:
        """Once the caller has talked to an agent, hold and transfers are part of the
        conversation; before that, an offer in flight means the caller was ringing."""
        if call.ever_bridged:
            return "talking"
        if any(self._legs[leg_id].result == "pending" for leg_id in call.legs):
            return "ringing"
        return "waiting"

    def _maybe_end(self, call: Call) -> None:
        """A call ends when the caller's channels are gone and no offer is still
        unresolved; an answered agent leg may outlive it (it reports AgentHungUp)."""
        if call.linkedid not in self._calls or self._caller_side(call):
            return
        if any(self._legs[leg_id].result == "pending" for leg_id in call.legs):
            return
        self._caller_hung_up(call)
        ended_by: ev.Party = call.last_break or "caller"
        self._emit(ev.CallEnded(self.pbx, call.linkedid, ended_by, self._at))
        del self._calls[call.linkedid]
        self._call_ids = {k: v for k, v in self._call_ids.items() if v != call.linkedid}
        for leg_id in call.legs:
            self._forget_leg_if_done(self._legs[leg_id])

    def _forget_leg_if_done(self, leg: Leg) -> None:
        if leg.linkedid in self._calls:
            return
        if leg.result == "failed" or leg.hung_up or self._channels.get(leg.leg_id) is None:
            self._legs.pop(leg.leg_id, None)
            self._legs_by_action.pop(leg.action_id, None)

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
        if msg.get("UserEvent") != ENQUEUE_USER_EVENT:
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
        if msg.get("Response") == "Success":
            self._leg_answered(leg)
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
}
