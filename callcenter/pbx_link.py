"""One PBX link: an AMI client, its call tracker, and the Dialer the orchestrator uses.

Frames go from the socket straight through the tracker into the orchestrator on
the same event loop, so an arrival is routed without a hop through a queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from callcenter.ami import actions
from callcenter.ami.client import AmiClient, AmiConnectionLost
from callcenter.ami.codec import LocalProtocolError
from callcenter.ami.events import DomainEvent
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.settings import PbxSettings

log = structlog.get_logger(__name__)

EventSink = Callable[[DomainEvent], None]


class PbxLink:
    """Implements ``callcenter.orchestration.ports.Dialer`` for one Asterisk."""

    def __init__(self, settings: PbxSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.name = settings.name
        self.tracker = CallTracker(settings.name)
        self._sink: EventSink | None = None
        self._clock = clock
        self._client = AmiClient(settings, self._on_message)

    @property
    def connected(self) -> bool:
        return self._client.connected

    async def start(self, sink: EventSink) -> None:
        """Connect; from now on every domain event goes to ``sink``. (The sink is
        the orchestrator, which itself needs this link as its dialer, hence late.)"""
        self._sink = sink
        await self._client.start()

    async def stop(self) -> None:
        await self._client.stop()

    def _on_message(self, msg: Message) -> None:
        events = self.tracker.feed(msg, self._clock())
        if self._sink is not None:
            for event in events:
                self._sink(event)

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
        try:
            headers = actions.originate_agent_leg(
                leg_id=leg_id,
                call_id=call_id,
                agent_target=agent_target,
                caller_channel=caller_channel,
                ring_timeout_s=ring_timeout_s,
                caller_id_number=caller_id_number,
                caller_id_name=caller_id_name,
            )
        except actions.InvalidActionValue as exc:
            raise OfferNotPlaced(str(exc)) from exc
        action_id = self._client.next_action_id()
        self.tracker.expect_agent_leg(
            leg_id=leg_id,
            action_id=action_id,
            agent_target=agent_target,
            caller_channel=caller_channel,
            call_id=call_id,
            linkedid=linkedid,
        )
        try:
            result = await self._client.send_action("Originate", headers, action_id=action_id)
        except (AmiConnectionLost, LocalProtocolError) as exc:
            raise OfferNotPlaced(str(exc)) from exc
        except TimeoutError as exc:
            # The Originate may have been queued; its leg's events still tell the
            # outcome, so nothing is re-sent (that could ring the agent twice).
            log.warning("Originate not acknowledged in time", leg_id=leg_id)
            del exc
            return
        if not result.ok:
            raise OfferNotPlaced(result.message or "Originate refused")

    async def hangup_leg(self, leg_id: str) -> None:
        channel = self.tracker.leg_channel(leg_id)
        if channel is None:
            return
        result = await self._client.send_action("Hangup", actions.hangup(channel))
        if not result.ok:
            log.info("hangup of a leg refused", leg_id=leg_id, reason=result.message)
