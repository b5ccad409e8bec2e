"""The orchestrator: the single writer of live call-center state.

Domain events from the PBX links and state requests from agents' pages come in;
the router decides; offers go out as Originates; pops and state go to browsers;
every step is written to the call history. All of it runs on one event loop and
mutates state only in synchronous sections, so no two events interleave halfway.

Rules it keeps (DESIGN "The flow of one call"):
- an agent is reserved (RINGING) before the Originate is sent, so no agent is
  ever offered two calls;
- a failed offer leaves the caller untouched and puts the call back at its
  original place; the agent who missed it is never offered that call again and
  goes Not Ready ("no answer") after ``rona_misses`` misses in a row, except
  when the offer was canceled because the caller left;
- a call is routed once the CRM lookup is over (it is bounded by a timeout), so
  its priority and known agent come from the customer record; its place in
  line is its arrival time all the same;
- the router's deadlines (bullseye steps, known-agent windows, max waits) are
  kept by one alarm on the loop; overflow and closed actions that leave the
  queues Redirect the caller to a fixed context, and a failed Redirect puts the
  caller back in line rather than stranding them;
- after a call the agent wraps up for the queue's ``wrap_up_s``;
- a state change an agent asks for during a call applies when the call ends;
- while a PBX link is down (or not yet resynced) its waiting calls are held, not
  offered: they keep their place (original enqueue time) and are routed again
  once the link is in step. Calls recorded by an earlier run and still waiting
  on the PBX are taken over under their old call id; the ones the PBX no longer
  has are closed ``lost_during_disconnect``;
- a supervisor may listen in on a talking call (``supervise``, see
  ``supervision.py``); every attempt is audited, and the supervisor's leg is
  hung up when the call ends.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import structlog

from agents import BUSY, AgentProfile, AgentState, InvalidTransition, transition
from callcenter import metrics
from callcenter.ami import events as ev
from callcenter.orchestration.alarm import Alarm
from callcenter.orchestration.call_control import (
    outside_dial_string,
    own_talking_call,
    ready_colleague,
)
from callcenter.orchestration.dialing import DialPlan, OfferTarget, Unreachable, offer_target
from callcenter.orchestration.facts import agent_facts, customer_facts, waiting_call
from callcenter.orchestration.live import LiveAgent, LiveCall, Party
from callcenter.orchestration.ports import (
    Arrival,
    ArrivalJournal,
    CallRecords,
    Dialer,
    LegKind,
    OfferNotPlaced,
    OpenCall,
    PopBuilder,
    RecordingSink,
)
from callcenter.orchestration.queue_stats import QueueStats
from callcenter.orchestration.recording_tracker import RecordingTracker
from callcenter.orchestration.supervision import SupervisionDesk, hang_up_spy_leg, plan_spy
from callcenter.orchestration.writer import OrderedWriter
from callcenter.ports import (
    AgentInUse,
    AgentView,
    CallControlError,
    Notifier,
    Principal,
    QueueStatsView,
    SupervisionLog,
    SupervisionMode,
    SupervisionRefused,
    SupervisionStarted,
    TransferTarget,
    WaitingCallView,
    Wallboard,
)
from routing import Closed, Explanation, Offer, Overflow, Round, Router, RoutingRules, Target
from routing.rules import Recording

log = structlog.get_logger(__name__)

Clock = Callable[[], float]

#: States a person may ask for from the agent page.
REQUESTABLE = frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT})
#: States in which a request waits for the call to end (wrap-up ends at once).
ON_A_CALL = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL})
#: How a call that left the queues ends up in the call record.
REDIRECT_OUTCOME = {"voicemail": "voicemail", "callback": "callback", "hangup": "closed"}
#: Why an agent went Not Ready after a failed offer, by the offer's failure.
MISSED_OFFER_REASON = {
    "no_answer": "no answer",
    "busy": "busy",
    "unavailable": "unreachable",
    "congestion": "network congestion",
    "unconfirmed": "offer not confirmed",
}
#: Offer failures that say nothing about the agent: no Not Ready for them.
NOT_THE_AGENTS_FAULT = frozenset({"canceled", "lost_during_disconnect", "link_down"})
#: the agent's phone cannot be reached from the caller's PBX (no trunk set up):
#: a configuration gap, so no penalty, but that agent is not offered the call again
NO_ROUTE: Final = "no_route"
LOST: Final = "lost_during_disconnect"
PHONE_UNREACHABLE = "phone unreachable"
#: why a Ready agent was made Not Ready when the AMI link of their site dropped
SITE_DOWN = "site unreachable"
#: a leg's ring time when its queue has no rule (any more)
DEFAULT_RING_TIMEOUT_S = 15.0
RESUMING = "resuming after a restart"
#: a number a callback may dial: an optional +, then 3 to 20 digits
CALLBACK_NUMBER: Final = re.compile(r"\+?[0-9]{3,20}\Z")


class Orchestrator:
    """Implements ``callcenter.ports.CallCenterDesk`` for the web layer."""

    def __init__(
        self,
        *,
        agents: Iterable[AgentProfile],
        rules: RoutingRules,
        dialers: Mapping[str, Dialer],
        records: CallRecords,
        pops: PopBuilder,
        notifier: Notifier,
        clock: Clock = time.time,
        rules_version: int | None = None,
        awaiting_resync: Iterable[str] = (),
        open_calls: Iterable[OpenCall] = (),
        supervision_log: SupervisionLog | None = None,
        agent_states: Mapping[int, tuple[str, str | None, datetime]] | None = None,
        callback_retry_s: float = 300.0,
        callback_attempts: int = 3,
        dial_plan: DialPlan | None = None,
        recording_sink: RecordingSink | None = None,
        journal: ArrivalJournal | None = None,
    ) -> None:
        """``awaiting_resync``: PBXs whose calls are held until their link says
        ``LinkResynced``. ``open_calls``: records an earlier run left open.
        ``supervision_log``: the audit trail; without one nobody may supervise.
        ``agent_states``: each agent's last recorded state, to carry on from
        after a restart (``start`` applies them). ``journal``: where each new
        call's arrival is kept until its record is written (none: a crash may
        lose the records of calls that were still queued for writing)."""
        self._router = Router(rules)
        self._rules_version = rules_version
        self._dialers = dict(dialers)
        self._notifier = notifier
        self._pops = pops
        self._clock = clock
        self._alarm = Alarm(clock, self.tick)
        self._unreachable: set[str] = set()
        #: sites (PBXs) whose AMI link dropped and is not in step again
        self._sites_down: set[str] = set()
        # Everyone starts logged out, as of now (not as of 1970).
        self._agents = {a.agent_id: LiveAgent(a, since=clock()) for a in agents}
        self._records = records
        self._writer = OrderedWriter(batch=records.batch)
        self._journal = journal
        self._calls: dict[str, LiveCall] = {}
        self._by_linkedid: dict[tuple[str, str], str] = {}
        self._by_leg: dict[str, str] = {}
        self._leg_numbers = itertools.count(1)
        #: in every leg id, so a restarted service never reuses one (Asterisk
        #: refuses a ChannelId that exists, and the history keys legs by it)
        self._run = uuid.uuid4().hex[:4]
        self._tasks: set[asyncio.Task[Any]] = set()
        self._out_of_step: set[str] = set(awaiting_resync)
        self._orphans: dict[tuple[str, str], OpenCall] = {
            (c.pbx, c.linkedid): c for c in open_calls
        }
        self._supervision = SupervisionDesk(supervision_log, clock)
        self._agent_states = dict(agent_states or {})
        self._callback_retry_s = callback_retry_s
        #: how each agent's phone is reached from each PBX (trunks)
        self._dial_plan = dial_plan or DialPlan()
        self._callback_attempts = callback_attempts
        #: agents who were working a call when an earlier run stopped: kept out
        #: of routing until every PBX has said what is still going on
        self._resuming: set[int] = set()
        #: resyncs being completed (stale legs of an earlier run hung up first)
        self._resyncs: dict[str, ev.LinkResynced] = {}
        #: the wallboard's per-queue figures over the last half hour
        self._queue_stats = QueueStats()
        #: which calls are recorded, their legs' files and pauses
        self._recording = RecordingTracker(self._recording_policy)
        self._recording_sink = recording_sink

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        self._writer.start()
        for agent_id, (state, reason, at) in self._agent_states.items():
            agent = self._agents.get(agent_id)
            if agent is not None:
                self._restore_agent(agent, AgentState(state), reason, at.timestamp())
        self._agent_states.clear()

    def _restore_agent(
        self, agent: LiveAgent, state: AgentState, reason: str | None, since: float
    ) -> None:
        """Carry on from an earlier run: Ready and Not Ready agents stay so (since
        when they were); agents who were working a call wait, Not Ready, until
        the PBXs have said whether that call still goes on (it is then theirs
        again) or not (they are then Ready)."""
        if state == AgentState.LOGGED_OUT:
            return
        if state in (AgentState.READY, AgentState.NOT_READY):
            agent.state, agent.since = state, since
            agent.reason = reason if state == AgentState.NOT_READY else None
            facts = agent_facts(agent, _utc(since).date())
            if state == AgentState.READY:
                self._decide(self._router.agent_available, facts, self._clock())
            return
        self._resuming.add(agent.profile.agent_id)
        self._set_state(agent, AgentState.NOT_READY, RESUMING, self._clock())

    async def stop(self) -> None:
        self._alarm.cancel()
        for agent in self._agents.values():
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
        for call in self._calls.values():
            if call.callback_timer is not None:
                call.callback_timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._writer.stop()

    async def settle(self) -> None:
        """Wait for the offers in flight and the history writes (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._writer.flush()

    # -- domain events ------------------------------------------------------

    def handle(self, event: ev.DomainEvent) -> None:
        """Apply one PBX event. Never raises: a surprising event is logged.
        Every line logged meanwhile names the PBX, the call (its Linkedid and,
        once known, our call id) and the agent on it."""
        linkedid = getattr(event, "linkedid", None)
        call = self._call_of(event.pbx, linkedid) if linkedid else None
        ids = {"pbx": event.pbx, "linkedid": linkedid}
        if call is not None:
            ids |= {"call_id": call.call_id, "agent_id": call.agent_id}
        with structlog.contextvars.bound_contextvars(**ids):
            try:
                self._dispatch(event)
            except Exception:
                log.exception("event handling failed", event=type(event).__name__)

    def _dispatch(self, event: ev.DomainEvent) -> None:
        match event:
            case ev.CallArrived():
                self._call_arrived(event)
            case ev.AgentLegRinging():
                self._leg_ringing(event)
            case ev.Bridged():
                # Only a bridge is a conversation: an agent who picks up after the
                # caller left (AgentLegAnswered without Bridged) talked to nobody.
                self._leg_answered(event.leg_id, event.at)
            case ev.AgentLegAnswered():
                # An added party talks to the agent in the conference, even while
                # the caller is on hold and no bridge with the caller is made.
                self._party_answered(event.leg_id, event.at)
            case ev.AgentLegFailed():
                self._leg_failed(event)
            case ev.CallerHungUp():
                self._caller_hung_up(event)
            case ev.AgentHungUp():
                self._agent_hung_up(event)
            case ev.CallEnded():
                self._call_ended(event)
            case ev.LinkDown():
                self._link_down(event)
            case ev.LinkResynced():
                self._link_resynced(event)
            case ev.PhoneReachability():
                self._phone_reachability(event)
            case ev.CallbackRequested():
                self._callback_requested(event)
            case ev.CustomerUnreached():
                self._customer_unreached(event)
            case ev.SurveyAnswered():
                self._survey_answered(event)

    def _call_arrived(self, event: ev.CallArrived) -> None:
        key = (event.pbx, event.linkedid)
        if key in self._by_linkedid:
            return
        earlier = self._orphans.pop(key, None)
        call = LiveCall(
            call_id=earlier.call_id if earlier else uuid.uuid4().hex[:16],
            pbx=event.pbx,
            linkedid=event.linkedid,
            queue=event.queue,
            caller_channel=event.caller_channel,
            caller_number=event.caller_number,
            caller_name=event.caller_name,
            account=event.account,
            enqueued_at=earlier.enqueued_at.timestamp() if earlier else event.at,
        )
        if earlier is not None:
            call.ever_answered = earlier.answered
            call.earlier_legs = dict(earlier.legs)
        if event.in_conference:
            # an earlier run moved it into its conference; on hold there, maybe
            call.in_conference = True
            call.hold_started = self._clock() if event.on_hold else None
        self._calls[call.call_id] = call
        self._by_linkedid[(call.pbx, call.linkedid)] = call.call_id
        # The CRM lookup starts now so the pop is ready when an agent rings.
        identity: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        call.identity = identity
        call.pop = self._spawn(
            self._pops(
                call_id=call.call_id,
                queue=call.queue,
                caller_number=call.caller_number,
                account=call.account,
                identified=functools.partial(_settle_identity, identity),
            )
        )
        # a builder that never said who called is heard when its pop is done
        call.pop.add_done_callback(functools.partial(_identity_from_pop, identity))
        if earlier is None:
            self._record_arrival(call)
            self._event(call, "enqueued", call.enqueued_at, queue=call.queue)
        else:
            log.info("call taken over from an earlier run", call_id=call.call_id)
            self._event(call, "taken_over", event.at, in_conference=event.in_conference)
        self._spawn(self._route_when_known(call))

    async def _route_when_known(self, call: LiveCall) -> None:
        """Route once the CRM has said who is calling (the lookup has its own
        timeout; a failed one routes the caller without customer facts). The
        rest of the pop may still be read meanwhile."""
        pop: dict[str, Any] | None = None
        if call.identity is not None:
            pop = await asyncio.shield(call.identity)
            if pop is None:
                log.warning("routing without customer facts: CRM lookup failed")
        customer_id = ((pop or {}).get("customer") or {}).get("id")
        if isinstance(customer_id, int):
            # onto the record written at the arrival, gone caller or not
            self._write(
                "call_identified",
                functools.partial(self._records.call_identified, call.call_id, customer_id),
            )
        if self._calls.get(call.call_id) is not call or call.caller_gone:
            return
        call.customer = customer_facts(pop)
        if call.phase == "waiting":
            self._route(call, self._clock())

    def _route(self, call: LiveCall, at: float) -> None:
        """Queue a waiting call in the router, at its original place."""
        if self._router.queue_rule(call.queue) is None:
            log.warning("call for a queue without rules waits unrouted", queue=call.queue)
            return
        if call.customer is None:
            return  # routed when its CRM lookup is over
        if call.in_conference:
            # Found in its conference after a restart with no leg we could name:
            # offering it would pull the caller away from whoever is in there.
            log.warning("a call found in its conference is not offered", call_id=call.call_id)
            return
        if call.pbx in self._out_of_step:
            call.held = True
            return
        call.held = False
        self._decide(self._router.call_arrived, waiting_call(call), at)
        if call.phase == "waiting" and call.redirected_to is None and call.admitted_at is None:
            call.admitted_at = at

    # -- links --------------------------------------------------------------

    def _link_down(self, event: ev.LinkDown) -> None:
        """Hold the link's waiting calls: an offer now could not be placed, and
        what happens on the PBX meanwhile is learnt at the resync."""
        self._out_of_step.add(event.pbx)
        self._resyncs.pop(event.pbx, None)
        for call in list(self._calls.values()):
            if call.pbx == event.pbx and call.phase == "waiting" and not call.caller_gone:
                self._decide(self._router.call_left, call.call_id, event.at)
                call.held = True
        self._site_agents_out(event.pbx, event.at)
        log.warning("PBX link down: its calls are held", pbx=event.pbx)

    def _site_agents_out(self, pbx: str, at: float) -> None:
        """Agents whose phones are on a site callcenter cannot see get no offers:
        not that site's callers (held), nor another site's through a trunk into
        a PBX whose state is unknown. The Ready ones are made Not Ready, with a
        reason a supervisor can read, and put back once the site is in step."""
        self._sites_down.add(pbx)
        for agent in self._agents.values():
            if agent.profile.pbx == pbx and agent.state == AgentState.READY:
                self._set_state(agent, AgentState.NOT_READY, SITE_DOWN, at)

    def _site_agents_back(self, pbx: str, at: float) -> None:
        self._sites_down.discard(pbx)
        for agent in list(self._agents.values()):
            if (
                agent.profile.pbx == pbx
                and agent.state == AgentState.NOT_READY
                and agent.reason == SITE_DOWN
            ):
                # A phone that went away meanwhile waits for its own way back.
                if agent.profile.dial_string in self._unreachable:
                    self._set_state(agent, AgentState.NOT_READY, PHONE_UNREACHABLE, at)
                else:
                    self._set_state(agent, AgentState.READY, None, at)

    def _link_resynced(self, event: ev.LinkResynced) -> None:
        for call in list(self._calls.values()):
            if call.pbx == event.pbx and call.linkedid not in event.live_calls:
                # The tracker ends what is gone; this only guards against a call
                # it never knew (taken over from the database, say).
                self._call_ended(ev.CallEnded(call.pbx, call.linkedid, None, event.at, LOST))
        for key, orphan in list(self._orphans.items()):
            if orphan.pbx == event.pbx:
                del self._orphans[key]
                end = self._records.call_ended
                self._write(
                    "call_ended",
                    functools.partial(end, orphan.call_id, LOST, None, None, _utc(event.at)),
                )
        self._resyncs[event.pbx] = event
        if event.stale_legs:
            self._spawn(self._hang_up_stale_legs(event))
        else:
            self._link_in_step(event)

    async def _hang_up_stale_legs(self, event: ev.LinkResynced) -> None:
        """Legs an earlier run left ringing are hung up before anything is offered:
        answered, they would bridge their agent to a caller offered to someone
        else; and their agents are about to be offered calls again."""
        dialer = self._dialers.get(event.pbx)
        for leg_id in sorted(event.stale_legs):
            log.info("hanging up a leg left by an earlier run", leg_id=leg_id)
            if dialer is None:
                break
            try:
                await dialer.hangup_leg(leg_id)
            except Exception as exc:
                log.warning("hanging up a stale leg failed", leg_id=leg_id, error=str(exc))
        self._link_in_step(event)

    def _link_in_step(self, event: ev.LinkResynced) -> None:
        """The link agrees with its PBX: its held calls are routed again at their
        place, and agents resuming after a restart are Ready once all links do."""
        if self._resyncs.get(event.pbx) is not event:
            return  # the link dropped again meanwhile
        del self._resyncs[event.pbx]
        self._out_of_step.discard(event.pbx)
        for call in list(self._calls.values()):
            if (
                call.pbx == event.pbx
                and call.held
                and not call.caller_gone
                and call.phase == "waiting"
            ):
                self._route(call, event.at)
        # After its callers are back in line at their places, not before: the
        # first one in is the first one offered.
        self._site_agents_back(event.pbx, event.at)
        if not self._out_of_step:
            for agent_id in sorted(self._resuming):
                agent = self._agents[agent_id]
                if agent.call_id is None and agent.reason == RESUMING:
                    self._set_state(agent, AgentState.READY, None, event.at)
            self._resuming.clear()
        log.info("PBX link in step", pbx=event.pbx, restarted=event.restarted)

    def _phone_reachability(self, event: ev.PhoneReachability) -> None:
        """A Ready agent whose phone stopped answering the network is made Not
        Ready at once, rather than after a failed offer kept a caller waiting."""
        if event.reachable:
            self._unreachable.discard(event.device)
        else:
            self._unreachable.add(event.device)
        for agent in list(self._agents.values()):
            if agent.profile.dial_string != event.device:
                continue
            if not event.reachable and agent.state == AgentState.READY:
                self._set_state(agent, AgentState.NOT_READY, PHONE_UNREACHABLE, event.at)
            elif (
                event.reachable
                and agent.state == AgentState.NOT_READY
                and agent.reason == PHONE_UNREACHABLE
            ):
                # it was us who took the agent out, so it is us who puts them back
                self._set_state(agent, AgentState.READY, None, event.at)

    def _record_arrival(self, call: LiveCall) -> None:
        """Written at once, without waiting for the CRM lookup (the customer
        follows when it is over, ``_route_when_known``), ahead of other calls'
        queued steps (none of this call's comes before it), and kept in the
        journal until written: a step still queued when the process dies is
        lost, and a call answered and over before the restart would then leave
        no trace."""
        arrival = Arrival(
            call.call_id,
            call.pbx,
            call.linkedid,
            call.queue,
            call.caller_number,
            _utc(call.enqueued_at),
        )
        written = self._writer.submit_first(
            "call_enqueued",
            functools.partial(
                self._records.call_enqueued,
                arrival.call_id,
                arrival.pbx,
                arrival.linkedid,
                arrival.queue,
                arrival.caller_number,
                None,
                arrival.enqueued_at,
            ),
        )
        if self._journal is not None:
            kept = self._journal.note(arrival)
            written.add_done_callback(
                lambda done: kept() if not done.cancelled() and done.result() else None
            )

    def _leg_ringing(self, event: ev.AgentLegRinging) -> None:
        call = self._call_of_leg(event.leg_id)
        if call is not None and call.party is not None and call.party.leg_id == event.leg_id:
            self._party_ringing(call, call.party, event.at)
            return
        if call is None or call.leg_id != event.leg_id or call.agent_id is None:
            return
        agent = self._agents[call.agent_id]
        if agent.state == AgentState.RESERVED:
            self._set_state(agent, AgentState.RINGING, None, event.at)
        self._notifier.to_agent(
            call.agent_id, {"type": "call", "call_id": call.call_id, "status": "ringing"}
        )
        self._pop_once(call, call.agent_id, event.leg_id)

    def _pop_once(self, call: LiveCall, agent_id: int, leg_id: str) -> None:
        """The pop goes out when the agent's phone rings (or, if no ringing was
        seen, when it is answered): an offer to an unreachable phone pops nothing."""
        if call.popped_leg != leg_id:
            call.popped_leg = leg_id
            self._spawn(self._push_pop(call, agent_id, leg_id))

    def _leg_answered(self, leg_id: str, at: float) -> None:
        call = self._call_of_leg(leg_id)
        if call is None:
            call = self._adopt_talking_leg(leg_id)
        if call is None or call.leg_id != leg_id or call.agent_id is None:
            return
        if call.phase == "talking":
            return
        self._pop_once(call, call.agent_id, leg_id)
        call.phase = "talking"
        call.answered_by = call.agent_id
        call.direct = False
        call.connected_at = at
        call.held_s = 0.0
        first_answer = not call.ever_answered
        call.ever_answered = True
        agent = self._agents[call.agent_id]
        agent.missed = 0
        self._set_state(agent, AgentState.ON_CALL, None, at)
        self._decide(self._router.call_left, call.call_id, at)
        target = call.lines.get(leg_id, agent.profile.dial_string)
        self._leg_talking(leg_id, at)
        self._event(call, "answered", at, agent_id=agent.profile.agent_id, leg_id=leg_id)
        if self._recording.answered(leg_id, at):
            # The recording was paused when the call changed hands: so is this leg.
            self._spawn(self._mute_quietly(call, leg_id, muted=True))
        if first_answer:
            rule = self._router.rules.queue(call.queue)
            self._queue_stats.answered(
                call.queue,
                at - call.enqueued_at,
                rule.service_level_s if rule is not None else 20.0,
                at,
            )
        if not first_answer:
            # A transferred call: the record keeps its first answer.
            self._tell_agent(call, "talking")
            return
        self._write(
            "call_answered",
            lambda: self._records.call_answered(
                call.call_id, agent.profile.agent_id, target, _utc(at)
            ),
        )
        self._tell_agent(call, "talking")

    def _adopt_talking_leg(self, leg_id: str) -> LiveCall | None:
        """A leg of an earlier run found bridged with its caller (the resync after
        a restart): its agent is on that call again, and the call is theirs."""
        call = next((c for c in self._calls.values() if leg_id in c.earlier_legs), None)
        if call is None:
            return None
        agent = self._agents.get(call.earlier_legs[leg_id])
        if agent is None or agent.call_id is not None:
            return None
        if call.phase == "talking" and call.party is None and call.in_conference:
            self._adopt_party(call, agent, leg_id)
            return None
        if call.phase != "waiting" or call.leg_id is not None:
            return None
        self._decide(self._router.call_left, call.call_id, self._clock())
        self._resuming.discard(agent.profile.agent_id)
        call.held = False
        self._bind_leg(call, agent, leg_id)
        # The PBX's word is the truth here: the agent is talking, whatever state
        # the earlier run left them in, so no transition check applies.
        agent.state = AgentState.RINGING
        log.info("talking call taken over", call_id=call.call_id, leg_id=leg_id)
        return call

    def _adopt_party(self, call: LiveCall, agent: LiveAgent, leg_id: str) -> None:
        """A second leg of an earlier run in the call's conference: the party its
        agent had added (consulted or in a three-way call), talking."""
        now = self._clock()
        self._resuming.discard(agent.profile.agent_id)
        call.party = Party(leg_id, agent.profile.agent_id, agent.profile.dial_string, "conference")
        call.party.answered_at = now
        call.legs[leg_id] = agent.profile.agent_id
        self._by_leg[leg_id] = call.call_id
        agent.call_id = call.call_id
        agent.state = AgentState.RINGING  # the PBX's word, as for the call's own agent
        self._set_state(agent, AgentState.ON_CALL, None, now)
        log.info("added party taken over", call_id=call.call_id, leg_id=leg_id)

    def _leg_failed(self, event: ev.AgentLegFailed) -> None:
        call = self._call_of_leg(event.leg_id)
        if call is None:
            return
        if call.party is not None and call.party.leg_id == event.leg_id:
            self._party_gone(call, event.reason, event.at)
            return
        self._offer_failed(call, event.leg_id, event.reason, event.at)

    def _offer_failed(self, call: LiveCall, leg_id: str, reason: str, at: float) -> None:
        agent_id = call.legs.get(leg_id)
        self._write("offer_result", lambda: self._records.offer_result(leg_id, reason, _utc(at)))
        if call.leg_id != leg_id or agent_id is None:
            return
        self._event(call, "offer_failed", at, agent_id=agent_id, leg_id=leg_id, reason=reason)
        if call.callback_linkedid == leg_id:
            self._by_linkedid.pop((call.pbx, leg_id), None)
            call.callback_linkedid = None
        call.leg_id = None
        call.agent_id = None
        agent = self._agents[agent_id]
        agent.call_id = None
        self._notifier.to_agent(agent_id, {"type": "pop_withdrawn", "call_id": call.call_id})
        # The call first: back at its place, it may go to the next best agent.
        if not call.caller_gone:
            call.phase = "waiting"
            if call.pbx in self._out_of_step:
                self._decide(self._router.call_left, call.call_id, at)
                call.held = True
            elif call.direct or reason in NOT_THE_AGENTS_FAULT:
                # A transfer to this agent failed (the router never held the
                # call), or the offer failed through no fault of the agent's (who
                # may be offered it again): it joins its queue afresh, still at
                # its original place.
                call.direct = False
                self._decide(self._router.call_left, call.call_id, at)
                self._route(call, at)
            else:
                self._decide(self._router.offer_failed, call.call_id, at)
        else:
            self._decide(self._router.call_left, call.call_id, at)
        if reason == LOST:
            # Its call vanished in an outage, but the agent's leg may still ring.
            self._free_after_hangup(call.pbx, leg_id, agent)
            return
        if reason in NOT_THE_AGENTS_FAULT or reason == NO_ROUTE or call.caller_gone:
            self._finish_agent_call(agent, at)
            return
        agent.missed += 1
        if agent.missed >= self._router.rules.rona_misses:
            # RONA: whoever keeps missing offers is not offered the next one.
            agent.pending = None
            agent.missed = 0
            self._set_state(agent, AgentState.NOT_READY, MISSED_OFFER_REASON.get(reason), at)
        else:
            self._finish_agent_call(agent, at)

    def _caller_hung_up(self, event: ev.CallerHungUp) -> None:
        call = self._call_of(event.pbx, event.linkedid)
        if call is None or call.caller_gone:
            return
        if self._waits_for_callback(call, event.linkedid):
            self._caller_left_for_callback(call, event.at)
            return
        call.caller_gone = True
        self._decide(self._router.call_left, call.call_id, event.at)
        if call.phase == "ringing" and call.leg_id is not None:
            self._spawn(self._hangup_leg(call, call.leg_id))
        if call.party is not None and (call.in_conference or call.party.answered_at is None):
            # A conference outlives its caller: whoever is left in it is hung up.
            self._spawn(self._hangup_leg(call, call.party.leg_id))
        if call.in_conference and call.phase == "talking" and call.leg_id is not None:
            self._spawn(self._hangup_leg(call, call.leg_id))

    def _agent_hung_up(self, event: ev.AgentHungUp) -> None:
        call = self._call_of_leg(event.leg_id)
        if call is None:
            return
        if call.party is not None and call.party.leg_id == event.leg_id:
            self._party_left(call, event.at)
            return
        agent_id = call.legs.get(event.leg_id)
        if agent_id is None or call.answered_by != agent_id or call.leg_id != event.leg_id:
            return
        agent = self._agents[agent_id]
        if call.in_conference and not call.caller_gone:
            self._agent_left_conference(call, agent, event.at)
        else:
            self._end_agent_part(call, agent, event.at)

    def _call_ended(self, event: ev.CallEnded) -> None:
        call = self._call_of(event.pbx, event.linkedid)
        if call is None:
            return
        if self._waits_for_callback(call, event.linkedid):
            # The caller's channels are gone; the call waits on without them.
            self._by_linkedid.pop((call.pbx, event.linkedid), None)
            return
        self._decide(self._router.call_left, call.call_id, event.at)
        if call.leg_id is not None and call.phase == "ringing":
            # An offer still open when the call is over (the agent picked up to a
            # caller already gone, say) ends with the call; the first result wins.
            leg_id, result = call.leg_id, LOST if event.cause == LOST else "canceled"
            self._write(
                "offer_result", lambda: self._records.offer_result(leg_id, result, _utc(event.at))
            )
        if call.agent_id is not None:
            self._end_agent_part(call, self._agents[call.agent_id], event.at)
        if call.party is not None:
            self._party_gone(call, "canceled", event.at)
        answered = call.ever_answered
        outcome = "answered" if answered else "abandoned"
        phase = None if answered else ("ringing" if call.phase == "ringing" else "waiting")
        if event.cause == LOST:
            outcome, phase = LOST, None
        elif not answered and call.redirected_to is not None:
            outcome, phase = REDIRECT_OUTCOME.get(call.redirected_to, "closed"), None
        ended_by = "agent" if call.ended_by_agent else event.ended_by
        if outcome == "abandoned":
            self._queue_stats.abandoned(call.queue, event.at - call.enqueued_at, event.at)
        self._event(call, "ended", event.at, outcome=outcome, ended_by=ended_by)
        finished = self._recording.call_ended(call.call_id, event.at)
        if finished is not None and self._recording_sink is not None:
            self._recording_sink.call_recorded(finished)
        self._write(
            "call_ended",
            lambda: self._records.call_ended(
                call.call_id, outcome, phase, ended_by, _utc(event.at)
            ),
        )
        self._forget(call)

    def _forget(self, call: LiveCall) -> None:
        del self._calls[call.call_id]
        self._by_linkedid.pop((call.pbx, call.linkedid), None)
        if call.callback_linkedid is not None:
            self._by_linkedid.pop((call.pbx, call.callback_linkedid), None)
        if call.callback_timer is not None:
            call.callback_timer.cancel()
        for leg in call.legs:
            self._by_leg.pop(leg, None)
        for spy_leg_id in call.spy_legs:
            # ChanSpy would keep the supervisor's phone open in silence.
            self._spawn(hang_up_spy_leg(self._dialers.get(call.pbx), spy_leg_id))

    def _end_agent_part(self, call: LiveCall, agent: LiveAgent, at: float) -> None:
        if agent.call_id != call.call_id:
            return
        was_talking = call.phase == "talking" and call.answered_by == agent.profile.agent_id
        open_leg = call.leg_id
        call.agent_id = None
        call.leg_id = None
        agent.call_id = None
        agent_id = agent.profile.agent_id
        if was_talking:
            agent.last_call_id = call.call_id
            agent.last_pop = _settled(call.pop)
            if open_leg is not None:
                self._recording.leg_ended(open_leg, at)
                held_s = self._held_so_far(call, at)
                self._write(
                    "leg_left",
                    functools.partial(self._records.leg_left, open_leg, _utc(at), held_s),
                )
            self._notifier.to_agent(
                agent_id, {"type": "call", "call_id": call.call_id, "status": "ended"}
            )
            rule = self._router.queue_rule(call.queue)
            wrap_up_s = rule.rule.wrap_up_s if rule else 0.0
            if wrap_up_s > 0 and agent.state == AgentState.ON_CALL:
                self._start_wrap_up(agent, wrap_up_s, at)
                return
        else:
            self._notifier.to_agent(agent_id, {"type": "pop_withdrawn", "call_id": call.call_id})
            if open_leg is not None:
                self._free_after_hangup(call.pbx, open_leg, agent)
                return
        self._finish_agent_call(agent, at)

    def _free_after_hangup(self, pbx: str, leg_id: str, agent: LiveAgent) -> None:
        """The call is over but the agent's leg may still be up on the PBX (the
        caller vanished in an outage, say): hang it up first, and only then offer
        the agent anything, or their phone would be rung twice."""

        async def hang_up_then_free() -> None:
            dialer = self._dialers.get(pbx)
            if dialer is not None:
                try:
                    await dialer.hangup_leg(leg_id)
                except Exception as exc:
                    log.warning("hanging up a leftover leg failed", leg_id=leg_id, error=str(exc))
            if agent.call_id is None and agent.state in (AgentState.RESERVED, AgentState.RINGING):
                self._finish_agent_call(agent, self._clock())

        self._spawn(hang_up_then_free())

    def _start_wrap_up(self, agent: LiveAgent, wrap_up_s: float, at: float) -> None:
        """Notes and disposition time: not offered calls until it is over (or the
        agent says they are done)."""
        self._set_state(agent, AgentState.WRAP_UP, None, at)
        loop = asyncio.get_running_loop()
        agent.wrap_up_timer = loop.call_later(wrap_up_s, self._wrap_up_over, agent)
        self._notifier.to_agent(
            agent.profile.agent_id,
            {"type": "wrap_up", "call_id": agent.last_call_id, "until": at + wrap_up_s},
        )

    def _wrap_up_over(self, agent: LiveAgent) -> None:
        agent.wrap_up_timer = None
        if agent.state == AgentState.WRAP_UP:
            self._finish_agent_call(agent, self._clock())

    def _finish_agent_call(self, agent: LiveAgent, at: float) -> None:
        """After a call (or a canceled offer): the pending request, else Ready."""
        wanted, reason = agent.pending or (AgentState.READY, None)
        agent.pending = None
        self._set_state(agent, wanted, reason, at)

    # -- routing decisions --------------------------------------------------

    def _decide(self, step: Callable[..., Round], *args: Any) -> None:
        """Ask the router (``step`` is one of its inputs) and carry out its answer.
        Timed here, not in the router, so the router core stays free of clocks."""
        started = time.perf_counter()
        result = step(*args)
        metrics.ROUTING_LATENCY.labels(input=step.__name__).observe(time.perf_counter() - started)
        self._apply(result)

    def _apply(self, result: Round) -> None:
        for decision in result.decisions:
            match decision:
                case Offer():
                    metrics.ROUTING_DECISIONS.labels(kind="offer").inc()
                    self._make_offer(decision)
                case Overflow():
                    metrics.ROUTING_DECISIONS.labels(kind="overflow").inc()
                    self._send_elsewhere(decision.call_id, decision.target, decision.explanation)
                case Closed():
                    metrics.ROUTING_DECISIONS.labels(kind="closed").inc()
                    self._send_elsewhere(decision.call_id, decision.action, decision.explanation)
        self._alarm.set(result.wake_at)

    def tick(self) -> None:
        """The router's deadline came: steps, known-agent windows, max waits."""
        try:
            self._decide(self._router.tick, self._clock())
        except Exception:
            log.exception("routing tick failed")

    def _send_elsewhere(self, call_id: str, target: Target, explanation: Explanation) -> None:
        """Overflow or closed action: another queue (the router has moved the call
        already), or out of the queues to voicemail, a callback or a message."""
        call = self._calls.get(call_id)
        if call is None:
            return
        call.explanation = explanation
        log.info(
            "call sent elsewhere", call_id=call_id, target=str(target), why=explanation.summary()
        )
        self._event(call, "sent_elsewhere", self._clock(), target=str(target))
        if target.queue is not None:
            call.queue = target.queue
            call.admitted_at = self._clock()
            return
        call.redirected_to = target.kind
        self._spawn(self._redirect_caller(call, target))

    async def _redirect_caller(self, call: LiveCall, target: Target) -> None:
        dialer = self._dialers.get(call.pbx)
        try:
            if dialer is None:
                raise OfferNotPlaced(f"no link to PBX {call.pbx!r}", link_down=True)
            await dialer.send_caller(
                caller_channel=call.caller_channel, destination=target.kind, queue=call.queue
            )
        except Exception as exc:
            # Never strand a caller: back in line (no hours check), served or
            # overflowed again later.
            log.error(
                "redirect failed: the caller waits in line again",
                call_id=call.call_id,
                target=str(target),
                error=str(exc),
            )
            if self._calls.get(call.call_id) is call and not call.caller_gone:
                call.redirected_to = None
                call.admitted_at = self._clock()
                self._route(call, self._clock())

    def _make_offer(self, offer: Offer) -> None:
        call = self._calls[offer.call_id]
        agent = self._agents[offer.agent_id]
        now = self._clock()
        leg_id = self._new_leg_id("agentleg", call)
        self._bind_leg(call, agent, leg_id)
        call.explanation = offer.explanation
        if call.admitted_at is None:
            call.admitted_at = now
        self._set_state(agent, AgentState.RESERVED, None, now)
        line = self._line_of(agent, call, leg_id)
        self._event(call, "offered", now, agent_id=agent.profile.agent_id, leg_id=leg_id)
        self._write(
            "offer_made",
            lambda: self._records.offer_made(
                call.call_id, leg_id, agent.profile.agent_id, line, _utc(now)
            ),
        )
        self._spawn(self._place_offer(call, agent, leg_id, offer.ring_timeout_s))

    def _bind_leg(self, call: LiveCall, agent: LiveAgent, leg_id: str) -> None:
        """The call now rings (or is found talking with) ``agent`` on ``leg_id``."""
        call.phase = "ringing"
        call.leg_id = leg_id
        call.agent_id = agent.profile.agent_id
        call.legs[leg_id] = agent.profile.agent_id
        self._by_leg[leg_id] = call.call_id
        agent.call_id = call.call_id

    def _surveyed(self, queue: str) -> bool:
        """Whether the queue's callers are asked for a score once their agent
        hangs up (the rule as published when the offer is made)."""
        rule = self._router.queue_rule(queue)
        return rule is not None and rule.rule.survey

    def _survey_answered(self, event: ev.SurveyAnswered) -> None:
        """The caller keyed a score after the agent hung up: it goes on the call
        and its history entry. Only for a call that was answered: the tracker
        sends none other, and a score must name who it judges."""
        call = self._call_of(event.pbx, event.linkedid)
        if call is None or not call.ever_answered:
            return
        self._event(call, "survey_answered", event.at, score=event.score)
        call_id, score = call.call_id, event.score
        self._write("survey_answered", lambda: self._records.survey_answered(call_id, score))

    def _ring_timeout_s(self, call: LiveCall) -> float:
        rule = self._router.queue_rule(call.queue)
        return rule.rule.ring_timeout_s if rule else DEFAULT_RING_TIMEOUT_S

    def _line_of(self, agent: LiveAgent, call: LiveCall, leg_id: str) -> str:
        """What rings the agent for this call (their phone, or a trunk and their
        number), as the history keeps it; noted on the call for its answer."""
        try:
            line = self._target_of(agent, call).dial_string
        except Unreachable:
            line = agent.profile.dial_string
        call.lines[leg_id] = line
        return line

    async def _place_offer(
        self, call: LiveCall, agent: LiveAgent, leg_id: str, ring_timeout_s: float
    ) -> None:
        dialer = self._dialers.get(call.pbx)
        try:
            if dialer is None:
                raise OfferNotPlaced(f"no link to PBX {call.pbx!r}")
            target = self._target_of(agent, call)
            if call.callback_number is not None:
                await self._place_callback(call, leg_id, target, ring_timeout_s, dialer)
                return
            record, part = self._recording.offer(
                call.call_id, call.queue, leg_id, agent.profile.agent_id
            )
            await dialer.originate_agent_leg(
                leg_id=leg_id,
                call_id=call.call_id,
                linkedid=call.linkedid,
                agent_target=target.dial_string,
                caller_channel=call.caller_channel,
                ring_timeout_s=ring_timeout_s,
                caller_id_number=call.caller_number,
                caller_id_name=call.caller_name,
                confirm=target.confirm,
                record=record,
                recording_part=part,
                survey=self._surveyed(call.queue),
            )
        except Unreachable as exc:
            log.error("agent not reachable from this PBX", call_id=call.call_id, why=exc.reason)
            if call.call_id in self._calls:
                self._offer_failed(call, leg_id, NO_ROUTE, self._clock())
        except OfferNotPlaced as exc:
            log.warning("offer not placed", call_id=call.call_id, leg_id=leg_id, error=str(exc))
            if call.call_id in self._calls:
                reason = "link_down" if exc.link_down else "unavailable"
                self._offer_failed(call, leg_id, reason, self._clock())

    async def _push_pop(self, call: LiveCall, agent_id: int, leg_id: str) -> None:
        if call.pop is None:
            return
        try:
            pop = await asyncio.shield(call.pop)
        except Exception:
            log.exception("screen-pop failed", call_id=call.call_id)
            return
        party_leg = call.party.leg_id if call.party is not None else None
        if leg_id not in (call.leg_id, party_leg):
            return  # the offer is over already
        pop = {**pop, "routed_because": self._routed_because(call, agent_id)}
        if call.transfer_note is not None:
            pop["transfer"] = call.transfer_note
        if call.callback_number is not None:
            pop["callback"] = call.callback_number
        self._notifier.to_agent(agent_id, {"type": "pop", "call_id": call.call_id, "pop": pop})

    def _routed_because(self, call: LiveCall, agent_id: int) -> str:
        del agent_id
        if call.explanation is None:
            return f"queue {call.queue}"
        return call.explanation.summary()

    async def _best_effort(
        self, call: LiveCall, what: str, action: Callable[[Dialer], Awaitable[None]]
    ) -> None:
        """An action in the background, after the decision was taken: a failure
        is logged (the PBX's own events tell what happened next), never raised."""
        dialer = self._dialers.get(call.pbx)
        if dialer is None:
            return
        try:
            await action(dialer)
        except Exception as exc:
            log.warning(f"{what} failed", call_id=call.call_id, error=str(exc))

    async def _hangup_leg(self, call: LiveCall, leg_id: str) -> None:
        await self._best_effort(call, f"hanging up leg {leg_id}", lambda d: d.hangup_leg(leg_id))

    # -- callbacks ----------------------------------------------------------

    @staticmethod
    def _waits_for_callback(call: LiveCall, linkedid: str) -> bool:
        """The caller's own channels ending, on a call that keeps its place for a
        callback (not a callback attempt's, which ends the call as usual)."""
        return (
            call.callback_number is not None
            and linkedid == call.linkedid
            and call.phase in ("waiting", "ringing")
        )

    def _callback_requested(self, event: ev.CallbackRequested) -> None:
        """A waiting caller asked to be called back: the call keeps its place in
        line; when its turn comes an agent is rung first, then the customer."""
        call = self._call_of(event.pbx, event.linkedid)
        if call is None:
            return
        # A caller transferred back into a queue waits like any other, and may
        # ask too.
        keeps_place = (
            call.phase in ("waiting", "ringing")
            and call.redirected_to is None
            and CALLBACK_NUMBER.match(event.number) is not None
        )
        # Sent to the callback prompt by a closed or overflow action (or with no
        # number to call), the request is noted for the supervisors' list only.
        self._event(
            call, "callback_requested", event.at, number=event.number, keeps_place=keeps_place
        )
        if keeps_place:
            call.callback_number = event.number

    def _caller_left_for_callback(self, call: LiveCall, at: float) -> None:
        self._event(call, "caller_left_for_callback", at)
        if call.phase == "ringing" and call.leg_id is not None:
            # Rung to be bridged to a caller who has gone: canceled, and the call
            # is offered again as a callback, at its place.
            self._spawn(self._hangup_leg(call, call.leg_id))

    def _target_of(self, agent: LiveAgent, call: LiveCall) -> OfferTarget:
        """How the agent's phone is rung for this call: directly, or through a
        trunk (another site, a home or partner number). Raises ``Unreachable``."""
        return offer_target(agent.profile, call.pbx, self._dial_plan)

    async def _place_callback(
        self,
        call: LiveCall,
        leg_id: str,
        target: OfferTarget,
        ring_timeout_s: float,
        dialer: Dialer,
    ) -> None:
        call.callback_linkedid = leg_id
        self._by_linkedid[(call.pbx, leg_id)] = call.call_id
        self._event(call, "callback_attempt", self._clock(), leg_id=leg_id, agent_id=call.agent_id)
        await dialer.originate_callback_leg(
            leg_id=leg_id,
            call_id=call.call_id,
            agent_target=target.dial_string,
            number=call.callback_number or "",
            ring_timeout_s=ring_timeout_s,
            caller_id_name=call.caller_name,
        )

    def _customer_unreached(self, event: ev.CustomerUnreached) -> None:
        """The agent answered, the customer did not: the agent is free (it was not
        their fault), and the callback is tried again later at the call's place,
        or given up after ``callback_attempts``."""
        call = self._call_of_leg(event.leg_id)
        if call is None or call.leg_id != event.leg_id or call.agent_id is None:
            return
        leg_id, at = event.leg_id, event.at
        result = f"customer_{event.reason}"
        self._write("offer_result", lambda: self._records.offer_result(leg_id, result, _utc(at)))
        self._by_linkedid.pop((call.pbx, event.linkedid), None)
        call.callback_linkedid = None
        agent = self._agents[call.agent_id]
        call.leg_id = call.agent_id = None
        agent.call_id = None
        call.phase = "waiting"
        self._decide(self._router.call_left, call.call_id, at)
        self._notifier.to_agent(
            agent.profile.agent_id, {"type": "pop_withdrawn", "call_id": call.call_id}
        )
        self._finish_agent_call(agent, at)
        call.callback_attempts += 1
        self._event(call, "customer_unreached", at, leg_id=leg_id, reason=event.reason)
        if call.callback_attempts >= self._callback_attempts:
            outcome = "callback_failed"
            self._event(call, "ended", at, outcome=outcome, ended_by=None)
            self._write(
                "call_ended",
                lambda: self._records.call_ended(call.call_id, outcome, None, None, _utc(at)),
            )
            self._forget(call)
            return
        loop = asyncio.get_running_loop()
        call.callback_timer = loop.call_later(self._callback_retry_s, self._retry_callback, call)

    def _retry_callback(self, call: LiveCall) -> None:
        call.callback_timer = None
        if self._calls.get(call.call_id) is call and call.phase == "waiting":
            self._route(call, self._clock())

    # -- call control (the agent on the call) --------------------------------

    def call_control_view(self, call: LiveCall) -> dict[str, Any]:
        party = call.party
        return {
            "call_id": call.call_id,
            "phase": call.phase,
            "agent_id": call.agent_id,
            "on_hold": call.hold_started is not None,
            "in_conference": call.in_conference,
            "recording": self.recording_view(call.call_id),
            "party": None
            if party is None
            else {
                "leg_id": party.leg_id,
                "agent_id": party.agent_id,
                "target": party.target,
                "kind": party.kind,
                "status": "talking" if party.answered_at is not None else "ringing",
            },
        }

    async def _control(
        self,
        call_id: str,
        agent_id: int,
        action: Callable[[LiveCall, Dialer], Awaitable[None]],
    ) -> dict[str, Any]:
        """Run one agent action on their call: checked on live state, one at a time
        per call; a PBX that refuses or cannot be reached is a ``CallControlError``
        and leaves the call as it was."""
        call = own_talking_call(self._calls.get(call_id), agent_id)
        dialer = self._dialers.get(call.pbx)
        if dialer is None or call.pbx in self._out_of_step:
            raise CallControlError("link_down", f"PBX {call.pbx} is not reachable now")
        call.controlling = True
        try:
            await action(call, dialer)
        except OfferNotPlaced as exc:
            reason = "link_down" if exc.link_down else "pbx_refused"
            log.warning("call control failed", call_id=call_id, reason=reason, error=str(exc))
            raise CallControlError(reason, str(exc)) from exc
        finally:
            call.controlling = False
        return self.call_control_view(call)

    async def _into_conference(self, call: LiveCall, dialer: Dialer) -> None:
        """Once per call, before the first hold, consultation or conference (see
        ``call_control.py`` for why not from the start)."""
        if call.in_conference or call.leg_id is None:
            return
        await dialer.move_to_conference(
            call_id=call.call_id, caller_channel=call.caller_channel, agent_leg_id=call.leg_id
        )
        call.in_conference = True
        self._event(call, "moved_to_conference", self._clock(), leg_id=call.leg_id)

    async def _hold_caller(self, call: LiveCall, dialer: Dialer) -> None:
        if call.hold_started is not None:
            return
        await dialer.redirect_caller(
            call_id=call.call_id, caller_channel=call.caller_channel, destination="hold"
        )
        call.hold_started = self._clock()
        self._event(call, "hold", call.hold_started, agent_id=call.agent_id)
        self._tell_agent(call, "held")

    async def _bring_caller_back(self, call: LiveCall, dialer: Dialer) -> None:
        if call.hold_started is None:
            return
        await dialer.redirect_caller(
            call_id=call.call_id, caller_channel=call.caller_channel, destination="conference"
        )
        self._end_hold(call, self._clock())

    def _end_hold(self, call: LiveCall, at: float) -> None:
        if call.hold_started is None:
            return
        call.held_s += max(0.0, at - call.hold_started)
        call.hold_started = None
        self._event(call, "resume", at, agent_id=call.agent_id)
        self._tell_agent(call, "talking")

    def _tell_agent(self, call: LiveCall, status: str) -> None:
        if call.agent_id is not None:
            self._notifier.to_agent(
                call.agent_id,
                {"type": "call", "call_id": call.call_id, "status": status}
                | {"control": self.call_control_view(call)},
            )

    async def hold(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            if call.hold_started is not None:
                raise CallControlError("wrong_phase", "the caller is on hold already")
            await self._into_conference(call, dialer)
            await self._hold_caller(call, dialer)
            policy = self._recording.policy(call.call_id)
            if policy is not None and policy.pause_on_hold:
                await self._pause_recording(call, dialer, "hold", required=False)

        return await self._control(call_id, agent_id, act)

    async def resume(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            if call.hold_started is None:
                raise CallControlError("wrong_phase", "the caller is not on hold")
            await self._bring_caller_back(call, dialer)
            if self._recording.paused_by(call.call_id) == "hold":
                await self._resume_recording(call, dialer, required=False)

        return await self._control(call_id, agent_id, act)

    # -- recording: pause and resume (PCI) ------------------------------------

    def _recording_policy(self, queue: str) -> Recording | None:
        rule = self._router.rules.queue(queue)
        return rule.recording if rule is not None else None

    def recording_view(self, call_id: str) -> dict[str, Any]:
        return {
            "recorded": self._recording.is_recorded(call_id),
            "paused": self._recording.paused_by(call_id) is not None,
            "paused_by": self._recording.paused_by(call_id),
        }

    async def pause_recording(self, call_id: str, agent_id: int, by: str) -> dict[str, Any]:
        """The agent on the call pauses its recording (a card number is about to
        be read out): the rest of the pause is silence on the recording, and
        the pause is kept in its metadata. 409 when the call is not recorded or
        already paused."""

        async def act(call: LiveCall, dialer: Dialer) -> None:
            if not self._recording.is_recorded(call.call_id):
                raise CallControlError("not_recorded", "this call is not being recorded")
            if self._recording.paused_by(call.call_id) is not None:
                raise CallControlError("wrong_phase", "the recording is paused already")
            await self._pause_recording(call, dialer, by, required=True)

        return await self._control(call_id, agent_id, act)

    async def resume_recording(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            if self._recording.paused_by(call.call_id) is None:
                raise CallControlError("wrong_phase", "the recording is not paused")
            await self._resume_recording(call, dialer, required=True)

        return await self._control(call_id, agent_id, act)

    async def _pause_recording(
        self, call: LiveCall, dialer: Dialer, by: str, *, required: bool
    ) -> None:
        leg_id = self._recording.talking_leg(call.call_id)
        if leg_id is None:
            if required:
                raise CallControlError("not_recorded", "no recorded leg is talking")
            return
        try:
            await dialer.mute_recording(leg_id, muted=True)
        except OfferNotPlaced:
            if required:
                raise
            log.warning("automatic recording pause failed", call_id=call.call_id, by=by)
            return
        at = self._clock()
        self._recording.paused(call.call_id, at, by)
        self._event(call, "recording_paused", at, by=by, leg_id=leg_id)
        self._tell_agent(call, "talking" if call.hold_started is None else "held")

    async def _resume_recording(self, call: LiveCall, dialer: Dialer, *, required: bool) -> None:
        leg_id = self._recording.talking_leg(call.call_id)
        if leg_id is not None:
            try:
                await dialer.mute_recording(leg_id, muted=False)
            except OfferNotPlaced:
                if required:
                    raise
                log.warning("automatic recording resume failed", call_id=call.call_id)
                return
        at = self._clock()
        self._recording.resumed(call.call_id, at)
        self._event(call, "recording_resumed", at, leg_id=leg_id)
        self._tell_agent(call, "talking" if call.hold_started is None else "held")

    async def _mute_quietly(self, call: LiveCall, leg_id: str, *, muted: bool) -> None:
        dialer = self._dialers.get(call.pbx)
        if dialer is None:
            return
        try:
            await dialer.mute_recording(leg_id, muted=muted)
        except OfferNotPlaced as exc:
            log.warning("muting a new leg's recording failed", leg_id=leg_id, error=str(exc))

    async def hang_up(self, call_id: str, agent_id: int) -> dict[str, Any]:
        """The agent ends the call for everyone on it. Through ``Bridge()`` the
        agent's leg is hung up and Asterisk ends the caller's (capture 06); in a
        conference the caller is hung up, and the conference's members with it."""

        async def act(call: LiveCall, dialer: Dialer) -> None:
            # Noted first: the call may end before the PBX's answer comes back.
            call.ended_by_agent = True
            self._event(call, "hangup_asked", self._clock(), agent_id=agent_id)
            try:
                if call.in_conference:
                    await dialer.hangup_caller(caller_channel=call.caller_channel)
                elif call.leg_id is not None:
                    await dialer.hangup_leg(call.leg_id)
            except BaseException:
                call.ended_by_agent = False
                raise

        return await self._control(call_id, agent_id, act)

    async def transfer(
        self,
        call_id: str,
        agent_id: int,
        target: TransferTarget,
        *,
        attended: bool,
        note: str | None = None,
    ) -> dict[str, Any]:
        if attended:
            return await self._add_party(call_id, agent_id, target, hold=True, note=note)

        async def act(call: LiveCall, dialer: Dialer) -> None:
            await self._blind_transfer(call, dialer, agent_id, target, note)

        return await self._control(call_id, agent_id, act)

    async def conference(
        self, call_id: str, agent_id: int, target: TransferTarget
    ) -> dict[str, Any]:
        return await self._add_party(call_id, agent_id, target, hold=False, note=None)

    async def _blind_transfer(
        self,
        call: LiveCall,
        dialer: Dialer,
        agent_id: int,
        target: TransferTarget,
        note: str | None,
    ) -> None:
        """The caller leaves the agent at once: back to ``callcenter-wait`` to be
        offered to a queue or an agent (keeping their place in line), or out to
        an outside number. The agent's part ends and their wrap-up starts."""
        if call.party is not None:
            raise CallControlError("wrong_phase", "finish or cancel the consultation first")
        colleague = None
        if target.kind == "queue" and self._router.queue_rule(target.queue or "") is None:
            raise CallControlError("bad_target", f"no queue {target.queue!r}")
        if target.kind == "agent":
            colleague = ready_colleague(self._agents, target.agent_id or 0, agent_id)
            self._reserve(colleague, call)
        try:
            if target.kind == "number":
                await dialer.redirect_caller(
                    call_id=call.call_id,
                    caller_channel=call.caller_channel,
                    destination="outbound",
                    number=target.number or "",
                )
            else:
                await dialer.redirect_caller(
                    call_id=call.call_id, caller_channel=call.caller_channel, destination="wait"
                )
        except BaseException:
            if colleague is not None:
                self._unreserve(colleague, call)
            raise
        now = self._clock()
        agent = self._agents[agent_id]
        call.transfer_note = {"from": agent.profile.name, "note": note or ""}
        self._event(call, "transferred", now, agent_id=agent_id, to=target.describe())
        old_leg = call.leg_id
        in_conference = call.in_conference
        self._end_agent_part(call, agent, now)
        call.answered_by = None
        call.in_conference = False
        call.hold_started = None
        call.held_s = 0.0
        if in_conference and old_leg is not None:
            # Through Bridge() the dialplan hangs the agent up (capture 08); in a
            # conference the agent would stay in it alone.
            self._spawn(self._hangup_leg(call, old_leg))
        if target.kind == "number":
            number = target.number or ""
            leg_id = self._new_leg_id("outside", call)
            call.phase = "outside"
            call.party = Party(leg_id, None, number, "transfer", answered_at=now)
            self._write(
                "leg_added",
                functools.partial(
                    self._records.leg_added,
                    call.call_id,
                    leg_id,
                    None,
                    number,
                    "transfer",
                    _utc(now),
                ),
            )
            self._write(
                "leg_connected", functools.partial(self._records.leg_connected, leg_id, _utc(now))
            )
            return
        call.phase = "waiting"
        if target.kind == "queue":
            call.queue = target.queue or call.queue
            call.admitted_at = now
            self._route(call, now)
        elif colleague is not None:
            self._offer_directly(call, colleague, now)

    def _reserve(self, agent: LiveAgent, call: LiveCall) -> None:
        """Held for this call before anything is sent, so the router cannot offer
        the agent another call meanwhile."""
        agent.call_id = call.call_id
        self._set_state(agent, AgentState.RESERVED, None, self._clock())

    def _unreserve(self, agent: LiveAgent, call: LiveCall) -> None:
        if agent.call_id == call.call_id:
            agent.call_id = None
        if agent.state in (AgentState.RESERVED, AgentState.RINGING):
            self._finish_agent_call(agent, self._clock())

    def _offer_directly(self, call: LiveCall, agent: LiveAgent, now: float) -> None:
        """A blind transfer to an agent: an offer like the router's, except that
        the router does not hold the call meanwhile (``direct``); if it fails,
        the call joins its queue at its original place."""
        leg_id = self._new_leg_id("agentleg", call)
        self._bind_leg(call, agent, leg_id)
        call.direct = True
        self._write(
            "leg_added",
            functools.partial(
                self._records.leg_added,
                call.call_id,
                leg_id,
                agent.profile.agent_id,
                self._line_of(agent, call, leg_id),
                "transfer",
                _utc(now),
            ),
        )
        self._spawn(self._place_offer(call, agent, leg_id, self._ring_timeout_s(call)))

    async def _add_party(
        self,
        call_id: str,
        agent_id: int,
        target: TransferTarget,
        *,
        hold: bool,
        note: str | None,
    ) -> dict[str, Any]:
        """Ring an agent or an outside number into the call's conference: with
        the caller on hold (a consultation before an attended transfer) or
        listening (a three-way conference)."""

        async def act(call: LiveCall, dialer: Dialer) -> None:
            if call.party is not None:
                raise CallControlError("wrong_phase", "someone else is being added already")
            if target.kind == "queue":
                raise CallControlError(
                    "bad_target", "a consultation or conference goes to an agent or a number"
                )
            colleague = None
            if target.kind == "agent":
                colleague = ready_colleague(self._agents, target.agent_id or 0, agent_id)
                try:
                    dial = self._target_of(colleague, call).dial_string
                except Unreachable as exc:
                    raise CallControlError("bad_target", exc.reason) from exc
            else:
                dial = outside_dial_string(target.number or "")
            kind: LegKind = "consult" if hold else "conference"
            leg_id = self._new_leg_id("party", call)
            party = Party(leg_id, colleague.profile.agent_id if colleague else None, dial, kind)
            agent = self._agents[agent_id]
            if colleague is not None:
                self._reserve(colleague, call)
                call.legs[leg_id] = colleague.profile.agent_id
            call.party = party
            self._by_leg[leg_id] = call.call_id
            call.transfer_note = {"from": agent.profile.name, "note": note or ""}
            now = self._clock()
            try:
                await self._into_conference(call, dialer)
                if hold:
                    await self._hold_caller(call, dialer)
                self._write(
                    "leg_added",
                    functools.partial(
                        self._records.leg_added,
                        call.call_id,
                        leg_id,
                        party.agent_id,
                        dial,
                        kind,
                        _utc(now),
                    ),
                )
                self._event(call, kind, now, agent_id=agent_id, to=target.describe(), leg_id=leg_id)
                await dialer.originate_conference_leg(
                    leg_id=leg_id,
                    call_id=call.call_id,
                    linkedid=call.linkedid,
                    target=dial,
                    ring_timeout_s=self._ring_timeout_s(call),
                    caller_id_number=call.caller_number,
                    caller_id_name=call.caller_name,
                    caller_channel=call.caller_channel,
                )
            except BaseException:
                if call.party is party:
                    self._party_gone(call, "unavailable", self._clock())
                raise

        return await self._control(call_id, agent_id, act)

    async def complete_transfer(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            party = call.party
            if party is None or party.answered_at is None:
                raise CallControlError("wrong_phase", "nobody has answered the consultation yet")
            await self._bring_caller_back(call, dialer)
            old_leg = call.leg_id
            self._hand_over(call, self._agents[agent_id], party, self._clock())
            if old_leg is not None:
                self._spawn(self._hangup_leg(call, old_leg))

        return await self._control(call_id, agent_id, act)

    async def join_parties(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            party = call.party
            if party is None or party.answered_at is None:
                raise CallControlError("wrong_phase", "nobody has answered the consultation yet")
            if call.hold_started is None:
                raise CallControlError("wrong_phase", "the caller is on the line already")
            await self._bring_caller_back(call, dialer)
            self._event(call, "joined", self._clock(), agent_id=agent_id, leg_id=party.leg_id)

        return await self._control(call_id, agent_id, act)

    async def cancel_party(self, call_id: str, agent_id: int) -> dict[str, Any]:
        async def act(call: LiveCall, dialer: Dialer) -> None:
            party = call.party
            if party is None:
                raise CallControlError("wrong_phase", "nobody is being added to this call")
            await dialer.hangup_leg(party.leg_id)
            if call.party is party:
                self._party_gone(call, "canceled", self._clock())
            await self._bring_caller_back(call, dialer)

        return await self._control(call_id, agent_id, act)

    async def wrap_up_done(self, agent_id: int, disposition: str, notes: str) -> AgentView:
        agent = self._agents[agent_id]
        call_id = agent.last_call_id
        if call_id is None:
            raise CallControlError("wrong_phase", "no call to wrap up")
        if disposition or notes:
            self._write(
                "wrap_up",
                functools.partial(self._records.call_wrapped_up, call_id, disposition, notes),
            )
        if agent.state == AgentState.WRAP_UP:
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
                agent.wrap_up_timer = None
            self._finish_agent_call(agent, self._clock())
        return self.agent_view(agent_id)

    # -- added parties ------------------------------------------------------

    def _party_ringing(self, call: LiveCall, party: Party, at: float) -> None:
        if party.agent_id is not None:
            agent = self._agents[party.agent_id]
            if agent.state == AgentState.RESERVED:
                self._set_state(agent, AgentState.RINGING, None, at)
            self._notifier.to_agent(
                party.agent_id, {"type": "call", "call_id": call.call_id, "status": "ringing"}
            )
            self._spawn(self._push_pop(call, party.agent_id, party.leg_id))
        self._tell_agent(call, "party_ringing")

    def _party_answered(self, leg_id: str, at: float) -> None:
        call = self._call_of_leg(leg_id)
        if call is None or call.party is None or call.party.leg_id != leg_id:
            return
        party = call.party
        if party.answered_at is not None:
            return
        party.answered_at = at
        if party.agent_id is not None:
            agent = self._agents[party.agent_id]
            agent.missed = 0
            self._set_state(agent, AgentState.ON_CALL, None, at)
            self._notifier.to_agent(
                party.agent_id, {"type": "call", "call_id": call.call_id, "status": "talking"}
            )
        self._leg_talking(leg_id, at)
        self._event(call, "party_answered", at, leg_id=leg_id, agent_id=party.agent_id)
        self._tell_agent(call, "party_talking")

    def _party_gone(self, call: LiveCall, result: str, at: float) -> None:
        """The added party is off the call: never answered (``result`` says why)
        or hung up. Their agent is free again; the caller stays where they are."""
        party = call.party
        if party is None:
            return
        call.party = None
        leg_id = party.leg_id
        if party.answered_at is None:
            self._write(
                "offer_result", lambda: self._records.offer_result(leg_id, result, _utc(at))
            )
        else:
            self._write(
                "leg_left", functools.partial(self._records.leg_left, leg_id, _utc(at), 0.0)
            )
        self._event(call, "party_left", at, leg_id=leg_id, result=result)
        if party.agent_id is not None:
            agent = self._agents[party.agent_id]
            if agent.call_id == call.call_id:
                agent.call_id = None
                self._notifier.to_agent(
                    party.agent_id, {"type": "pop_withdrawn", "call_id": call.call_id}
                )
                self._finish_agent_call(agent, at)
        self._tell_agent(call, "party_left")

    def _party_left(self, call: LiveCall, at: float) -> None:
        """The added party's leg hung up. A call that was handed over to an
        outside number ends with them: the caller is hung up too."""
        party = call.party
        if party is None:
            return
        self._party_gone(call, "canceled", at)
        if call.phase == "outside" and not call.caller_gone:
            self._spawn(self._hangup_caller(call))

    def _hand_over(self, call: LiveCall, agent: LiveAgent, party: Party, at: float) -> None:
        """The agent leaves; the party who answered the consultation has the call
        from now on (an agent: with its controls and, in the end, wrap-up)."""
        self._event(
            call, "transfer_completed", at, agent_id=agent.profile.agent_id, to=party.leg_id
        )
        self._end_agent_part(call, agent, at)
        call.held_s = 0.0
        if party.agent_id is None:
            call.answered_by = None
            call.phase = "outside"
            return
        call.party = None
        call.agent_id = call.answered_by = party.agent_id
        call.leg_id = party.leg_id
        call.connected_at = party.answered_at
        self._tell_agent(call, "talking")

    def _agent_left_conference(self, call: LiveCall, agent: LiveAgent, at: float) -> None:
        """The agent's leg hung up while the call is in its conference, where
        Asterisk would leave the others waiting. Whoever answered a consultation
        takes the call (as an attended transfer); a caller on hold goes back in
        line at their place; a caller left alone is hung up."""
        party = call.party
        if party is not None and party.answered_at is not None:
            self._hand_over(call, agent, party, at)
            if call.hold_started is not None:
                self._spawn(self._resume_after_hand_over(call))
            return
        if party is not None:
            self._spawn(self._hangup_leg(call, party.leg_id))
            self._party_gone(call, "canceled", at)
        on_hold = call.hold_started is not None
        self._end_agent_part(call, agent, at)
        if on_hold and not call.caller_gone:
            self._event(call, "requeued", at, agent_id=agent.profile.agent_id)
            call.answered_by = None
            call.in_conference = False
            call.hold_started = None
            call.phase = "waiting"
            call.admitted_at = at
            self._route(call, at)
        elif not call.caller_gone and call.ever_answered and self._surveyed(call.queue):
            # Out of its agent's Bridge(), no F option takes the caller on:
            # callcenter sends it to the survey itself.
            self._spawn(self._send_to_survey(call))
        else:
            self._spawn(self._hangup_caller(call))

    async def _resume_after_hand_over(self, call: LiveCall) -> None:
        await self._best_effort(
            call, "bringing the held caller back", lambda d: self._bring_caller_back(call, d)
        )

    async def _send_to_survey(self, call: LiveCall) -> None:
        dialer = self._dialers.get(call.pbx)
        if dialer is None:
            return  # no link: no hang-up could be sent either
        try:
            await dialer.redirect_caller(
                call_id=call.call_id, caller_channel=call.caller_channel, destination="survey"
            )
        except OfferNotPlaced as exc:
            # Not asked, then: a caller left alone in a conference is hung up.
            log.warning("survey redirect failed", call_id=call.call_id, error=str(exc))
            await self._hangup_caller(call)

    async def _hangup_caller(self, call: LiveCall) -> None:
        await self._best_effort(
            call,
            "hanging up the caller",
            lambda d: d.hangup_caller(caller_channel=call.caller_channel),
        )

    # -- agents -------------------------------------------------------------

    def agent_view(self, agent_id: int) -> AgentView:
        agent = self._agents[agent_id]
        call = self._calls.get(agent.call_id) if agent.call_id else None
        return AgentView(
            agent_id=agent.profile.agent_id,
            login=agent.profile.login,
            name=agent.profile.name,
            state=agent.state,
            since=agent.since,
            reason=agent.reason,
            call_id=agent.call_id,
            queue=call.queue if call else None,
            pending=agent.pending[0] if agent.pending else None,
        )

    async def set_agent_state(
        self, agent_id: int, state: AgentState, reason: str | None = None
    ) -> AgentView:
        agent = self._agents[agent_id]
        if state not in REQUESTABLE:
            raise InvalidTransition(agent.state, state)
        if agent.state in ON_A_CALL:
            agent.pending = (state, reason)
        else:
            if agent.wrap_up_timer is not None:
                agent.wrap_up_timer.cancel()
                agent.wrap_up_timer = None
            self._set_state(agent, state, reason, self._clock())
        return self.agent_view(agent_id)

    def _set_state(
        self, agent: LiveAgent, state: AgentState, reason: str | None, at: float
    ) -> None:
        if state == AgentState.READY and agent.profile.dial_string in self._unreachable:
            # No offers until the phone is back: no ringing into the void.
            state, reason = AgentState.NOT_READY, PHONE_UNREACHABLE
        elif state == AgentState.READY and agent.profile.pbx in self._sites_down:
            state, reason = AgentState.NOT_READY, SITE_DOWN
        previous = agent.state
        agent.state = transition(previous, state)
        agent.reason = reason if state == AgentState.NOT_READY else None
        if previous != state:
            self._count_busy_time(agent, previous, state, at)
            agent.since = at
            agent_id = agent.profile.agent_id
            self._write(
                "agent_state",
                lambda: self._records.agent_state_changed(agent_id, state.value, reason, _utc(at)),
            )
        self._notifier.to_agent(
            agent.profile.agent_id,
            {"type": "state", "agent": self.agent_view(agent.profile.agent_id).as_json()},
        )
        facts = agent_facts(agent, _utc(at).date())
        if state == AgentState.READY:
            self._decide(self._router.agent_available, facts, at)
        elif state in BUSY:
            self._decide(self._router.agent_busy, facts, at)
        else:
            self._decide(self._router.agent_away, agent.profile.agent_id, at)

    @staticmethod
    def _count_busy_time(
        agent: LiveAgent, previous: AgentState, state: AgentState, at: float
    ) -> None:
        """Seconds working calls today, for the least-occupied strategy."""
        if previous in BUSY and state not in BUSY:
            day = _utc(at).date()
            if agent.busy_day != day:
                agent.busy_day, agent.busy_s_today = day, 0.0
            agent.busy_s_today += max(0.0, at - agent.since)

    # -- rules --------------------------------------------------------------

    @property
    def rules(self) -> RoutingRules:
        return self._router.rules

    @property
    def rules_version(self) -> int | None:
        return self._rules_version

    def apply_rules(self, rules: RoutingRules, version: int | None) -> None:
        """Publish new rules to the live router: callers already waiting are
        re-evaluated under them at once. Raises ``routing.RulesRefused`` when
        they would strand callers (a queue with callers in it removed)."""
        self._decide(self._router.replace_rules, rules, self._clock())
        self._rules_version = version
        log.info("routing rules applied", version=version)

    def rules_refusal(self, rules: RoutingRules) -> str | None:
        """Why ``apply_rules(rules, ...)`` would be refused now, or None."""
        return self._router.refusal(rules, self._clock())

    def put_agent(self, profile: AgentProfile) -> None:
        """An agent added or edited by an admin, live: a new one starts logged
        out; an edited one keeps its state and call, and the router weighs it by
        its new skills and location from now on (a Ready agent may be offered a
        waiting call at once)."""
        agent = self._agents.get(profile.agent_id)
        if agent is None:
            self._agents[profile.agent_id] = LiveAgent(profile, since=self._clock())
            log.info("agent added", agent_id=profile.agent_id)
            return
        agent.profile = profile
        now = self._clock()
        facts = agent_facts(agent, _utc(now).date())
        if self._router.is_available(profile.agent_id):
            self._decide(self._router.agent_available, facts, now)
        elif agent.state in BUSY:
            self._decide(self._router.agent_busy, facts, now)
        log.info("agent profile changed", agent_id=profile.agent_id)

    def remove_agent(self, agent_id: int) -> None:
        """Forget an agent an admin deleted; only a logged-out one may go (one
        working a call would leave the call without its agent)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            return
        if agent.state != AgentState.LOGGED_OUT:
            raise AgentInUse(f"agent {agent_id} is {agent.state.value}: log them out first")
        del self._agents[agent_id]
        log.info("agent removed", agent_id=agent_id)

    def routing_of(self, call_id: str) -> dict[str, Any] | None:
        """Why a live call is where it is: the router's latest explanation."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        return {
            "call_id": call.call_id,
            "queue": call.queue,
            "phase": call.phase,
            "redirected_to": call.redirected_to,
            "rules_version": self._rules_version,
            "explanation": call.explanation.as_json() if call.explanation else None,
        }

    # -- supervisors --------------------------------------------------------

    async def supervise(
        self, call_id: str, supervisor: Principal, mode: SupervisionMode
    ) -> SupervisionStarted:
        """Ring the supervisor's own phone into the call's agent channel, to
        monitor, whisper or barge (``supervision.py``). For now any supervisor or
        admin may supervise any live call; scoping them to their own queues is a
        later issue. The decision is taken on live state at once; the audit row
        and the Originate are awaited here, so the answer tells what happened.
        Raises a ``callcenter.ports.SupervisionError``."""
        try:
            plan = plan_spy(
                call_id=call_id,
                call=self._calls.get(call_id),
                agents=self._agents,
                supervisor=supervisor,
            )
        except SupervisionRefused as refusal:
            await self._supervision.refused(supervisor, call_id, mode, refusal)
            raise
        # Noted before any I/O, so the call's end hangs the leg up whatever happens.
        self._calls[call_id].spy_legs.append(plan.spy_leg_id)
        return await self._supervision.start(plan, supervisor, mode, self._dialers.get(plan.pbx))

    # -- views --------------------------------------------------------------

    def wallboard(self) -> Wallboard:
        waiting = [
            WaitingCallView(
                c.call_id,
                c.queue,
                c.caller_number,
                c.enqueued_at,
                c.explanation.summary() if c.explanation else None,
            )
            for c in sorted(self._calls.values(), key=lambda c: c.enqueued_at)
            if c.phase in ("waiting", "ringing") and not c.caller_gone
        ]
        agents = [self.agent_view(a) for a in sorted(self._agents)]
        now = self._clock()
        return Wallboard(
            waiting=waiting, agents=agents, queues=self._queue_views(waiting, now), at=now
        )

    def _queue_views(self, waiting: list[WaitingCallView], now: float) -> list[QueueStatsView]:
        by_queue: dict[str, list[WaitingCallView]] = {}
        for call in waiting:
            by_queue.setdefault(call.queue, []).append(call)
        names = [q.name for q in self._router.rules.queues]
        views = []
        for name in [*names, *sorted(set(by_queue) - set(names))]:
            rule = self._router.rules.queue(name)
            here = by_queue.get(name, [])
            figures = self._queue_stats.figures(name, now)
            views.append(
                QueueStatsView(
                    name=name,
                    waiting=len(here),
                    oldest_enqueued_at=min((c.enqueued_at for c in here), default=None),
                    service_level_s=rule.service_level_s if rule is not None else 20.0,
                    service_level_target=rule.service_level_target if rule is not None else 0.8,
                    service_level=figures.service_level,
                    asa_s=figures.asa_s,
                    abandon_rate=figures.abandon_rate,
                    answered=figures.answered,
                    abandoned=figures.abandoned,
                )
            )
        return views

    # -- who is calling, told by the agent ------------------------------------

    def caller_on_screen(self, agent_id: int, call_id: str) -> dict[str, Any]:
        """The pop the agent sees for ``call_id``: their ringing or talking call,
        or the one they are wrapping up. Raises ``CallControlError``
        (``not_your_call``; ``wrong_phase`` while the CRM lookup runs)."""
        agent = self._agents.get(agent_id)
        if agent is None:
            raise CallControlError("not_your_call", "not your call")
        if agent.call_id == call_id:
            call = self._calls.get(call_id)
            pop = _settled(call.pop) if call is not None else None
            if pop is None:
                raise CallControlError("wrong_phase", "the customer lookup is not finished")
            return pop
        if (
            agent.last_call_id == call_id
            and agent.state == AgentState.WRAP_UP
            and agent.last_pop is not None
        ):
            return dict(agent.last_pop)
        raise CallControlError("not_your_call", "not your call")

    def show_identified_caller(
        self, agent_id: int, call_id: str, pop: dict[str, Any]
    ) -> dict[str, Any]:
        """The agent picked the caller from a pick list or created them: ``pop``
        replaces the call's pop (on this page and on any reopened one), and the
        call record names the customer, so the call joins their history."""
        self.caller_on_screen(agent_id, call_id)  # still theirs
        agent = self._agents[agent_id]
        call = self._calls.get(call_id)
        if call is not None and agent.call_id == call_id:
            settled: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            settled.set_result(pop)
            call.pop = settled
        else:
            agent.last_pop = pop
        customer_id = (pop.get("customer") or {}).get("id")
        if customer_id is not None:
            self._write(
                "caller_identified",
                functools.partial(self._records.call_identified, call_id, customer_id),
            )
        shown = {**pop}
        if call is not None:
            shown["routed_because"] = self._routed_because(call, agent_id)
        self._notifier.to_agent(agent_id, {"type": "pop", "call_id": call_id, "pop": shown})
        return shown

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        agent = self._agents.get(agent_id)
        call = self._calls.get(agent.call_id) if agent and agent.call_id else None
        if call is None or call.pop is None or not call.pop.done() or call.pop.cancelled():
            return None
        if call.pop.exception() is not None:
            return None
        pop = {**call.pop.result(), "routed_because": self._routed_because(call, agent_id)}
        if call.transfer_note is not None:
            pop["transfer"] = call.transfer_note
        return pop

    def agent_ids(self) -> list[int]:
        return sorted(self._agents)

    def live_call_count(self) -> int:
        return len(self._calls)

    # -- helpers ------------------------------------------------------------

    def _call_of(self, pbx: str, linkedid: str) -> LiveCall | None:
        call_id = self._by_linkedid.get((pbx, linkedid))
        return self._calls.get(call_id) if call_id else None

    def _call_of_leg(self, leg_id: str) -> LiveCall | None:
        call_id = self._by_leg.get(leg_id)
        return self._calls.get(call_id) if call_id else None

    def _write(self, step: str, write: Callable[[], Any]) -> None:
        self._writer.submit(step, write)

    def _event(self, call: LiveCall, kind: str, at: float, **detail: object) -> None:
        """One step of the call's append-only event log."""
        self._write(
            "call_event",
            functools.partial(self._records.call_event, call.call_id, kind, _utc(at), detail),
        )

    def _leg_talking(self, leg_id: str, at: float) -> None:
        """The leg's offer was answered, and its party's credit starts."""
        self._write(
            "offer_result",
            functools.partial(self._records.offer_result, leg_id, "answered", _utc(at)),
        )
        self._write(
            "leg_connected", functools.partial(self._records.leg_connected, leg_id, _utc(at))
        )

    def _new_leg_id(self, prefix: str, call: LiveCall) -> str:
        return f"{prefix}-{call.call_id}-{self._run}{next(self._leg_numbers)}"

    @staticmethod
    def _held_so_far(call: LiveCall, at: float) -> float:
        """Hold time of the agent now on the call, a hold in progress included."""
        held = call.held_s
        if call.hold_started is not None:
            held += max(0.0, at - call.hold_started)
        return held

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _settle_identity(
    identity: asyncio.Future[dict[str, Any] | None], found: dict[str, Any] | None
) -> None:
    if not identity.done():
        identity.set_result(found)


def _identity_from_pop(
    identity: asyncio.Future[dict[str, Any] | None], pop: asyncio.Future[dict[str, Any]]
) -> None:
    _settle_identity(identity, _settled(pop))


def _settled(pop: asyncio.Future[dict[str, Any]] | None) -> dict[str, Any] | None:
    """A pop lookup's result once it is over (a copy); None while it runs or if it failed."""
    if pop is None or not pop.done() or pop.cancelled() or pop.exception() is not None:
        return None
    return dict(pop.result())


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, tz=UTC)
