"""Which calls are recorded, which of their legs wrote audio, and when the
recording was paused: the orchestrator's bookkeeping for ``recordings/``.

Recording itself runs in the dialplan (``callcenter-connect`` starts MixMonitor
on an answered agent leg when the Originate says ``CC_RECORD=1``; the AMI
MixMonitor action needs the ``system`` privilege we do not grant). Each
recorded leg writes a file of its own (``<call>.wav``, then ``<call>-2.wav``
after a transfer: MixMonitor would truncate the first), and when the call is
over the legs that talked are handed on, with their pauses, to be joined into
one recording.

Pure state, no I/O and no clock of its own: the orchestrator passes times in
and sends the MixMonitorMute actions this asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from recordings import should_record
from routing.rules import Recording


@dataclass(slots=True)
class Mute:
    """A span the recording was paused (epoch seconds; ``end`` None: still)."""

    start: float
    end: float | None
    by: str


@dataclass(slots=True)
class RecordedLeg:
    leg_id: str
    agent_id: int | None
    #: the file name's suffix ("" for the call's first recorded leg, "-2", ...)
    part: str
    started_at: float | None = None
    ended_at: float | None = None
    mutes: list[Mute] = field(default_factory=list)


@dataclass(slots=True)
class _CallRecording:
    queue: str
    policy: Recording
    legs: dict[str, RecordedLeg] = field(default_factory=dict)
    #: who paused it ("agent:<login>", "hold", ...), while paused
    paused_by: str | None = None


@dataclass(frozen=True, slots=True)
class FinishedRecording:
    """A recorded call that is over: its legs that talked, in the order they
    answered, each with the file part it wrote and its pauses."""

    call_id: str
    queue: str
    ended_at: float
    legs: tuple[RecordedLeg, ...]
    retention_days: int | None


class RecordingTracker:
    def __init__(self, policy_of: Callable[[str], Recording | None]) -> None:
        """``policy_of(queue)``: the queue's recording policy now (None: not
        recorded). A call's fate is decided at its first offer and kept for
        the whole call, whichever queue it moves to."""
        self._policy_of = policy_of
        self._calls: dict[str, _CallRecording | None] = {}
        self._by_leg: dict[str, str] = {}

    def offer(
        self, call_id: str, queue: str, leg_id: str, agent_id: int | None
    ) -> tuple[bool, str]:
        """An agent leg is about to be originated: whether to record it, and
        the file part it writes to."""
        if call_id not in self._calls:
            policy = self._policy_of(queue)
            recorded = policy is not None and should_record(policy.mode, policy.percent, call_id)
            self._calls[call_id] = (
                _CallRecording(queue, policy) if recorded and policy is not None else None
            )
        call = self._calls[call_id]
        if call is None:
            return False, ""
        part = "" if not call.legs else f"-{len(call.legs) + 1}"
        call.legs[leg_id] = RecordedLeg(leg_id, agent_id, part)
        self._by_leg[leg_id] = call_id
        return True, part

    def answered(self, leg_id: str, at: float) -> bool:
        """A recorded leg started talking (its MixMonitor starts now). True
        when the call's recording is paused: the new leg must be muted too."""
        leg, call = self._leg(leg_id)
        if leg is None or call is None:
            return False
        leg.started_at = at
        if call.paused_by is not None:
            leg.mutes.append(Mute(at, None, call.paused_by))
            return True
        return False

    def leg_ended(self, leg_id: str, at: float) -> None:
        leg, _ = self._leg(leg_id)
        if leg is None or leg.started_at is None or leg.ended_at is not None:
            return
        leg.ended_at = at
        for mute in leg.mutes:
            if mute.end is None:
                mute.end = at

    def talking_leg(self, call_id: str) -> str | None:
        """The recorded leg talking now (the one whose MixMonitor to mute)."""
        call = self._calls.get(call_id)
        if call is None:
            return None
        talking = [
            leg for leg in call.legs.values() if leg.started_at is not None and leg.ended_at is None
        ]
        return talking[-1].leg_id if talking else None

    def is_recorded(self, call_id: str) -> bool:
        return self._calls.get(call_id) is not None

    def policy(self, call_id: str) -> Recording | None:
        call = self._calls.get(call_id)
        return call.policy if call is not None else None

    def paused_by(self, call_id: str) -> str | None:
        call = self._calls.get(call_id)
        return call.paused_by if call is not None else None

    def paused(self, call_id: str, at: float, by: str) -> None:
        """The PBX muted the talking leg: the pause starts now."""
        call = self._calls.get(call_id)
        if call is None or call.paused_by is not None:
            return
        call.paused_by = by
        leg_id = self.talking_leg(call_id)
        if leg_id is not None:
            call.legs[leg_id].mutes.append(Mute(at, None, by))

    def resumed(self, call_id: str, at: float) -> None:
        call = self._calls.get(call_id)
        if call is None or call.paused_by is None:
            return
        call.paused_by = None
        for leg in call.legs.values():
            for mute in leg.mutes:
                if mute.end is None:
                    mute.end = at

    def call_ended(self, call_id: str, at: float) -> FinishedRecording | None:
        """The call is over: its recording, when any leg of it talked."""
        call = self._calls.pop(call_id, None)
        if call is None:
            return None
        for leg_id in call.legs:
            self._by_leg.pop(leg_id, None)
            self.leg_ended_quietly(call, leg_id, at)
        talked = sorted(
            (leg for leg in call.legs.values() if leg.started_at is not None),
            key=lambda leg: leg.started_at or 0.0,
        )
        if not talked:
            return None
        return FinishedRecording(call_id, call.queue, at, tuple(talked), call.policy.retention_days)

    @staticmethod
    def leg_ended_quietly(call: _CallRecording, leg_id: str, at: float) -> None:
        leg = call.legs[leg_id]
        if leg.started_at is not None and leg.ended_at is None:
            leg.ended_at = at
        for mute in leg.mutes:
            if mute.end is None:
                mute.end = leg.ended_at if leg.ended_at is not None else at

    def _leg(self, leg_id: str) -> tuple[RecordedLeg | None, _CallRecording | None]:
        call_id = self._by_leg.get(leg_id)
        call = self._calls.get(call_id) if call_id is not None else None
        if call is None:
            return None, None
        return call.legs.get(leg_id), call
