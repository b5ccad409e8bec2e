"""What became of each call, built from domain events only.

Why from domain events and not raw AMI: the same book then serves ``callcenter
replay`` (a capture through the tracker) and the live service (the tracker's events
as they happen), and both agree by construction. The dict it gives per call is the
``expected.jsonl`` format of the conformance captures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.ami import events as ev


@dataclass(slots=True)
class Offer:
    leg_id: str
    agent: str
    result: str = "ringing"


@dataclass(slots=True)
class CallOutcome:
    linkedid: str
    caller: str
    queue: str
    offers: list[Offer] = field(default_factory=list)
    agent: str | None = None  # the first agent the caller talked to
    hangup_phase: ev.CallPhase | None = None
    ended_by: ev.Party | None = None
    ended: bool = False
    #: it was gone when the link came back: how it ended is not known
    lost: bool = False

    @property
    def outcome(self) -> str:
        if self.lost:
            return "lost_during_disconnect"
        return "answered" if self.agent is not None else "abandoned"

    def as_dict(self) -> dict[str, object]:
        """Keys in the order of the conformance files; absent when they do not apply."""
        out: dict[str, object] = {
            "linkedid": self.linkedid,
            "caller": self.caller,
            "queue": self.queue,
            "outcome": self.outcome,
        }
        if self.agent is not None:
            out["agent"] = self.agent
        elif not self.lost:
            out["abandon_phase"] = self.hangup_phase or "waiting"
        out["offers"] = [{"agent": o.agent, "result": o.result} for o in self.offers]
        if self.ended_by is not None:
            out["ended_by"] = self.ended_by
        return out


class CallOutcomeBook:
    """Collects outcomes per call, in order of arrival."""

    def __init__(self) -> None:
        self._calls: dict[tuple[str, str], CallOutcome] = {}

    def feed(self, event: ev.DomainEvent) -> None:
        if isinstance(event, ev.CallArrived):
            key = (event.pbx, event.linkedid)
            self._calls.setdefault(
                key, CallOutcome(event.linkedid, event.caller_number, event.queue)
            )
            return
        if isinstance(event, ev.PhoneReachability | ev.LinkDown | ev.LinkResynced):
            return  # about phones and links, not about one call
        call = self._calls.get((event.pbx, event.linkedid))
        if call is not None:
            _apply(call, event)

    def outcomes(self) -> list[CallOutcome]:
        return list(self._calls.values())

    def as_dicts(self) -> list[dict[str, object]]:
        return [call.as_dict() for call in self._calls.values()]


def _offer(call: CallOutcome, leg_id: str, agent: str) -> Offer:
    for offer in call.offers:
        if offer.leg_id == leg_id:
            return offer
    offer = Offer(leg_id, agent)
    call.offers.append(offer)
    return offer


def _apply(call: CallOutcome, event: ev.DomainEvent) -> None:
    match event:
        case ev.AgentLegRinging():
            _offer(call, event.leg_id, event.agent_target)
        case ev.AgentLegAnswered():
            _offer(call, event.leg_id, event.agent_target).result = "answered"
        case ev.AgentLegFailed():
            _offer(call, event.leg_id, event.agent_target).result = event.reason
        case ev.Bridged():
            _offer(call, event.leg_id, event.agent_target).result = "answered"
            if call.agent is None:
                call.agent = event.agent_target
        case ev.CallerHungUp():
            call.hangup_phase = event.phase
        case ev.CallEnded():
            call.ended = True
            call.ended_by = event.ended_by
            if event.cause != "hangup":
                call.lost = True
        case _:
            pass
