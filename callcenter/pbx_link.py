"""One PBX link: an AMI client, its call tracker, and the Dialer the orchestrator uses.

Why the reader only parses and enqueues: Asterisk drops a client whose socket
blocks (``writetimeout``, 100 ms by default), so the read loop never waits on the
tracker, the orchestrator or the database. Frames go into a bounded queue; one
consumer task applies them to the tracker in arrival order (which keeps every
call's order) and hands the domain events to the sink. If the queue ever fills,
events would have to be thrown away, so the link is dropped instead: the reconnect
resyncs and nothing is silently lost.

Every connect and reconnect resyncs (``FullyBooted`` first, which tells a restarted
Asterisk, then ``CoreShowChannels``): the snapshot is queued at the point of the
stream where its list completed, so events before it are applied before it and
events after it after it. Waiting callers we never saw enqueue are adopted once
their ``CC_QUEUE`` is read back with ``Getvar``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import structlog

from callcenter import metrics
from callcenter.ami import actions
from callcenter.ami.client import AmiClient, AmiConnectionLost, AmiResponseLost
from callcenter.ami.codec import LocalProtocolError
from callcenter.ami.correlator import ActionResult
from callcenter.ami.events import DomainEvent, LinkDown
from callcenter.ami.message import MalformedFrame, Message
from callcenter.ami.tracker import ADOPTION_VARIABLES, CallTracker, wants_frame
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.settings import PbxSettings

log = structlog.get_logger(__name__)

EventSink = Callable[[DomainEvent], None]

DEFAULT_QUEUE_LIMIT = 100_000
#: Events applied per turn of the consumer before it lets other tasks run.
BATCH = 512
RESYNC_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class _Disconnected:
    at: float


@dataclass(frozen=True, slots=True)
class _Snapshot:
    channels: Sequence[Message]
    at: float


@dataclass(frozen=True, slots=True)
class _Adoptions:
    variables: Mapping[str, Mapping[str, str]]
    at: float


_Item = tuple[Message, float] | _Disconnected | _Snapshot | _Adoptions
#: one action of a call-control sequence: its name and its validated headers
_Step = tuple[str, actions.Headers]
_Built = TypeVar("_Built", actions.Headers, list[_Step])


class PbxLink:
    """Implements ``callcenter.orchestration.ports.Dialer`` for one Asterisk."""

    def __init__(
        self,
        settings: PbxSettings,
        *,
        clock: Callable[[], float] = time.time,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.name = settings.name
        self.tracker = CallTracker(settings.name)
        self._sink: EventSink | None = None
        self._clock = clock
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=queue_limit)
        self._overflowed = False
        self._consumer: asyncio.Task[None] | None = None
        self._depth = metrics.AMI_QUEUE_DEPTH.labels(pbx=self.name)
        self._applied = metrics.AMI_EVENTS.labels(pbx=self.name)
        self._malformed = metrics.AMI_MALFORMED.labels(pbx=self.name)
        self._up = metrics.AMI_CONNECTED.labels(pbx=self.name)
        self._lag = metrics.AMI_EVENT_LAG.labels(pbx=self.name)
        self._client = AmiClient(
            settings,
            self._on_message,
            self._resync,
            on_disconnected=self._on_disconnected,
            on_malformed=self._on_malformed,
            wanted=wants_frame,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
        )
        #: set while the tracker agrees with the PBX (after the first resync)
        self.in_step = False

    @property
    def connected(self) -> bool:
        return self._client.connected

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    async def start(self, sink: EventSink) -> None:
        """Connect; from now on every domain event goes to ``sink``. (The sink is
        the orchestrator, which itself needs this link as its dialer, hence late.)"""
        self._sink = sink
        self._consumer = asyncio.create_task(self._consume(), name=f"ami-consumer-{self.name}")
        await self._client.start()

    async def stop(self) -> None:
        await self._client.stop()
        if self._consumer is not None:
            self._consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer
            self._consumer = None

    async def wait_in_step(self, timeout: float) -> None:
        """Wait until the link is up and resynced (tests, readiness)."""
        async with asyncio.timeout(timeout):
            while not (self.in_step and self.connected):
                await asyncio.sleep(0.02)

    # -- reading: parse and enqueue, nothing else --------------------------------

    def _enqueue(self, item: _Item) -> None:
        if self._overflowed and isinstance(item, tuple):
            return  # the link is being dropped; the resync will tell what we missed
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self._overflowed = True
            metrics.AMI_OVERFLOWS.labels(pbx=self.name).inc()
            self._client.drop_link(f"event queue full ({self._queue.maxsize} events)")
            return
        self._depth.set(self._queue.qsize())

    def _on_message(self, msg: Message) -> None:
        self._enqueue((msg, self._clock()))

    def _on_malformed(self, frame: MalformedFrame) -> None:
        del frame  # the client has logged it with the PBX name
        self._malformed.inc()

    def _on_disconnected(self) -> None:
        self._up.set(0)
        self.in_step = False
        marker = _Disconnected(self._clock())
        while True:  # never dropped: without it the tracker would not know to resync
            try:
                self._queue.put_nowait(marker)
                return
            except asyncio.QueueFull:
                # Events of the dead connection; the resync tells what they said.
                self._queue.get_nowait()

    # -- resync on every connect ---------------------------------------------------

    async def _resync(self) -> None:
        self._overflowed = False
        self._up.set(1)
        metrics.AMI_RESYNCS.labels(pbx=self.name).inc()
        snapshot: list[Message] = []

        def at_list_end(result: ActionResult) -> None:
            snapshot.extend(m for m in result.events if m.event == "CoreShowChannel")
            self._enqueue(_Snapshot(tuple(snapshot), self._clock()))

        result = await self._client.send_action(
            "CoreShowChannels", (), timeout=RESYNC_TIMEOUT_S, on_result=at_list_end
        )
        if not result.ok:
            log.error("CoreShowChannels refused; cannot resync", reason=result.message)
            self._client.drop_link("resync refused")
            return
        variables = await self._adoption_variables(snapshot)
        self._enqueue(_Adoptions(variables, self._clock()))

    async def _adoption_variables(self, snapshot: Sequence[Message]) -> dict[str, dict[str, str]]:
        names = {m.get("Uniqueid") or "": m.get("Channel") or "" for m in snapshot}
        found: dict[str, dict[str, str]] = {}
        for uniqueid in self.tracker.calls_needing_variables(snapshot):
            values: dict[str, str] = {}
            for variable in ADOPTION_VARIABLES:
                try:
                    headers = actions.getvar(names[uniqueid], variable)
                except actions.InvalidActionValue:
                    break
                answer = await self._client.send_action("Getvar", headers)
                if answer.ok:
                    values[variable] = answer.response.get("Value") or ""
            if values.get("CC_QUEUE"):
                found[uniqueid] = values
        return found

    # -- the consumer: the only code that touches the tracker ----------------------

    async def _consume(self) -> None:
        while True:
            item = await self._queue.get()
            self._apply(item)
            for _ in range(BATCH):
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                self._apply(item)
            self._depth.set(self._queue.qsize())
            await asyncio.sleep(0)

    def _apply(self, item: _Item) -> None:
        if isinstance(item, tuple):
            msg, at = item
            events = self.tracker.feed(msg, at)
            self._applied.inc()
            self._lag.observe(max(0.0, self._clock() - at))
        elif isinstance(item, _Disconnected):
            self.tracker.connection_lost()
            events = [LinkDown(self.name, item.at)]
        elif isinstance(item, _Snapshot):
            events = self.tracker.resync_channels(item.channels, item.at)
        else:
            events = self.tracker.finish_resync(item.variables, item.at)
            self.in_step = True
            log.info("AMI link in step", pbx=self.name, live_calls=len(self.tracker.live_calls))
        sink = self._sink
        if sink is not None:
            for event in events:
                sink(event)

    # -- the Dialer port -----------------------------------------------------------

    def _headers_to_send(self, build: Callable[[], _Built]) -> _Built:
        """An action's headers (or a sequence of actions, each validated before the
        first is sent, so a bad value never leaves a call half moved), built from
        validated values, while the link is in step; anything else is an
        ``OfferNotPlaced`` saying why."""
        try:
            headers = build()
        except actions.InvalidActionValue as exc:
            raise OfferNotPlaced(str(exc)) from exc
        if not self.in_step:
            raise OfferNotPlaced(f"PBX {self.name} is not in step", link_down=True)
        return headers

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
        headers = self._headers_to_send(
            lambda: actions.originate_agent_leg(
                leg_id=leg_id,
                call_id=call_id,
                agent_target=agent_target,
                caller_channel=caller_channel,
                ring_timeout_s=ring_timeout_s,
                caller_id_number=caller_id_number,
                caller_id_name=caller_id_name,
                confirm=confirm,
                record=record,
                recording_part=recording_part,
                survey=survey,
            )
        )
        await self._originate_announced(
            headers,
            leg_id=leg_id,
            call_id=call_id,
            linkedid=linkedid,
            target=agent_target,
            caller_channel=caller_channel,
            must_bridge=True,
        )

    async def _originate_announced(
        self,
        headers: actions.Headers,
        *,
        leg_id: str,
        call_id: str,
        linkedid: str,
        target: str,
        caller_channel: str,
        must_bridge: bool = False,
        callback: bool = False,
    ) -> None:
        """Announce a leg to the tracker, then send its Originate: an offer's, a
        conference leg's or a callback attempt's. Every way its answer can go
        missing is left to the leg's own events; only a refusal or a link that
        was down raises. ``must_bridge``: an offer, connected only once bridged
        with its caller. ``callback``: a call of its own, named by the leg."""
        action_id = self._client.next_action_id()
        if callback:
            self.tracker.expect_callback_leg(
                leg_id=leg_id, action_id=action_id, agent_target=target, call_id=call_id
            )
        else:
            self.tracker.expect_agent_leg(
                leg_id=leg_id,
                action_id=action_id,
                agent_target=target,
                caller_channel=caller_channel,
                call_id=call_id,
                linkedid=linkedid,
                must_bridge=must_bridge,
            )
        try:
            result = await self._client.send_action("Originate", headers, action_id=action_id)
        except AmiResponseLost:
            # It may be ringing the agent: the resync checks its ChannelId; nothing
            # is re-sent (that could ring the agent twice).
            log.warning("Originate answer lost with the link", leg_id=leg_id)
            return
        except AmiConnectionLost as exc:
            raise OfferNotPlaced(str(exc), link_down=True) from exc
        except LocalProtocolError as exc:
            raise OfferNotPlaced(str(exc)) from exc
        except TimeoutError:
            # The Originate may have been queued; its leg's events still tell the
            # outcome, so nothing is re-sent.
            log.warning("Originate not acknowledged in time", leg_id=leg_id)
            return
        if not result.ok:
            raise OfferNotPlaced(result.message or "Originate refused")

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
        """Ring the agent into ``callcenter-callback-out``, which dials ``number``
        once they answer. Announced to the tracker first, as an offer is, and
        never sent twice (a lost answer may mean the agent's phone rings)."""
        headers = self._headers_to_send(
            lambda: actions.originate_callback_leg(
                leg_id=leg_id,
                call_id=call_id,
                agent_target=agent_target,
                number=number,
                ring_timeout_s=ring_timeout_s,
                caller_id_name=caller_id_name,
            )
        )
        await self._originate_announced(
            headers,
            leg_id=leg_id,
            call_id=call_id,
            linkedid=leg_id,
            target=agent_target,
            caller_channel="",
            callback=True,
        )

    async def send_caller(self, *, caller_channel: str, destination: str, queue: str) -> None:
        headers = self._headers_to_send(
            lambda: actions.send_caller(
                caller_channel=caller_channel, destination=destination, queue=queue
            )
        )
        await self._send_control("Redirect", headers)

    async def originate_spy_leg(
        self,
        *,
        spy_leg_id: str,
        call_id: str,
        supervisor_target: str,
        agent_leg_id: str,
        mode: str,
    ) -> bool:
        """The supervisor's leg is not announced to the tracker: it never becomes a
        call (no CallCenterEnqueue) and its OriginateResponse is ignored. The
        agent's channel is looked up here, where the tracker knows it: after a
        Local optimization it is the device channel that now carries the agent."""
        spied_channel = self.tracker.leg_channel(agent_leg_id)
        if spied_channel is None:
            raise OfferNotPlaced(f"no live channel for agent leg {agent_leg_id}")
        headers = self._headers_to_send(
            lambda: actions.originate_spy_leg(
                spy_leg_id=spy_leg_id,
                supervisor_target=supervisor_target,
                spied_channel=spied_channel,
                mode=mode,
                call_id=call_id,
            )
        )
        try:
            result = await self._client.send_action("Originate", headers)
        except (AmiResponseLost, TimeoutError):
            # It may have been queued: the supervisor's phone may ring. Sending it
            # again could ring it twice, so it is not.
            log.warning("supervisor Originate not acknowledged", spy_leg_id=spy_leg_id)
            return False
        except AmiConnectionLost as exc:
            raise OfferNotPlaced(str(exc), link_down=True) from exc
        except LocalProtocolError as exc:
            raise OfferNotPlaced(str(exc)) from exc
        if not result.ok:
            raise OfferNotPlaced(result.message or "Originate refused")
        return True

    # -- call control: hold, transfer, conference, hang up ------------------------

    async def _send_control(self, action: str, headers: actions.Headers) -> None:
        """Send one call-control action (Setvar, Redirect, Hangup). Losing its answer with
        the link says nothing certain, so it counts as not done (``link_down``):
        the resync that follows tells where the channels really are. Nothing is
        sent again."""
        try:
            result = await self._client.send_action(action, headers)
        except (AmiConnectionLost, AmiResponseLost, LocalProtocolError, TimeoutError) as exc:
            raise OfferNotPlaced(str(exc) or type(exc).__name__, link_down=True) from exc
        if not result.ok:
            raise OfferNotPlaced(result.message or f"{action} refused")

    async def move_to_conference(
        self, *, call_id: str, caller_channel: str, agent_leg_id: str
    ) -> None:
        """Three actions, each sent only once the one before succeeded: the caller
        learns its conference's name, the agent's channel learns to follow the
        caller there, then the caller is Redirected. If the Redirect is refused,
        the agent's mark is taken off again, so that the end of the call still
        hangs the agent up rather than leaving them alone in a conference.

        The mark goes on the channel that runs ``callcenter-connect`` (the
        ``ChannelId`` one), not on a device a Local optimization swapped in: only
        the former reads it when ``Bridge()`` returns."""
        agent_channel = self.tracker.leg_dialplan_channel(agent_leg_id)
        if agent_channel is None:
            raise OfferNotPlaced(f"no live dialplan channel for agent leg {agent_leg_id}")
        name_it, mark, redirect = self._headers_to_send(
            lambda: [
                ("Setvar", actions.set_call_id(channel=caller_channel, call_id=call_id)),
                ("Setvar", actions.follow_into_conference(agent_channel=agent_channel)),
                (
                    "Redirect",
                    actions.redirect_caller(
                        caller_channel=caller_channel, destination="conference"
                    ),
                ),
            ]
        )
        await self._send_control(*name_it)
        await self._send_control(*mark)
        try:
            await self._send_control(*redirect)
        except OfferNotPlaced:
            unmark = actions.follow_into_conference(agent_channel=agent_channel, follow=False)
            with contextlib.suppress(OfferNotPlaced):
                await self._send_control("Setvar", unmark)
            raise
        log.info("call moved into its conference", call_id=call_id, leg_id=agent_leg_id)

    async def redirect_caller(
        self, *, call_id: str, caller_channel: str, destination: str, number: str = ""
    ) -> None:
        """``conference`` names the conference on the caller first (a Setvar), as
        capture 16 does before each Redirect into ``callcenter-conf``; the other
        destinations are one Redirect. An unknown destination or a number that is
        not one is refused before anything is sent."""

        def build() -> list[_Step]:
            steps: list[_Step] = []
            if destination == "conference":
                steps.append(
                    ("Setvar", actions.set_call_id(channel=caller_channel, call_id=call_id))
                )
            redirect = actions.redirect_caller(
                caller_channel=caller_channel, destination=destination, number=number
            )
            return [*steps, ("Redirect", redirect)]

        for step in self._headers_to_send(build):
            await self._send_control(*step)

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
        """Announced to the tracker before it is sent, as an offer is; a lost
        answer is never answered by sending it again (the phone may be ringing)."""
        headers = self._headers_to_send(
            lambda: actions.originate_conference_leg(
                leg_id=leg_id,
                call_id=call_id,
                target=target,
                ring_timeout_s=ring_timeout_s,
                caller_id_number=caller_id_number,
                caller_id_name=caller_id_name,
            )
        )
        await self._originate_announced(
            headers,
            leg_id=leg_id,
            call_id=call_id,
            linkedid=linkedid,
            target=target,
            caller_channel=caller_channel,
        )

    async def hangup_caller(self, *, caller_channel: str) -> None:
        headers = self._headers_to_send(lambda: actions.hangup(caller_channel))
        try:
            await self._send_control("Hangup", headers)
        except OfferNotPlaced as exc:
            if str(exc).lower() != "no such channel":
                raise
            log.info("caller already gone when hung up", caller_channel=caller_channel)

    async def mute_recording(self, leg_id: str, *, muted: bool) -> None:
        """Pause (``muted``) or resume the MixMonitor of an agent leg. It runs on
        the channel that ran ``callcenter-connect`` (the Originate's ``;1``).
        Raises ``OfferNotPlaced`` when the leg is gone, the PBX refused (no
        MixMonitor on it: "Cannot set mute flag") or the link is down."""
        channel = self.tracker.leg_dialplan_channel(leg_id) or self.tracker.leg_channel(leg_id)
        if channel is None:
            raise OfferNotPlaced(f"no channel for leg {leg_id}")
        headers = self._headers_to_send(
            lambda: actions.mute_recording(channel=channel, muted=muted)
        )
        await self._send_control("MixMonitorMute", headers)

    async def hangup_leg(self, leg_id: str) -> None:
        channel = self.tracker.leg_channel(leg_id)
        if channel is None:
            return
        result = await self._client.send_action("Hangup", actions.hangup(channel))
        if not result.ok:
            log.info("hangup of a leg refused", leg_id=leg_id, reason=result.message)
