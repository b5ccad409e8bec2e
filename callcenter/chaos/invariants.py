"""What must hold after every chaos scenario, checked from the record and the PBX.

Why two sources: the database is the service's own account (one call record per
call, closed with an outcome, every offer with a result, no two offers of one
call at once); the PBX's AMI frames, seen by a probe straight on the simulator
and not through any fault, are the ground truth the service cannot talk its way
around (no call ringing two agent phones at once, no phone ringing two calls at
once, no agent leg left up). The agents' states at the end come from the
service (in process or over its API): none left ringing, reserved or on a call
that is over.

``check`` returns a ``ChaosReport`` with counts (the summary table prints them)
and a list of the problems found; a scenario asserts ``report.ok``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from callcenter.ami.message import Message
from callcenter.db.models import CallRecord
from callcenter.db.session import make_engine, make_session_factory

ANSWERED = "answered"
ABANDONED = "abandoned"
#: closed with a reason: the call left the queues some other way the service
#: knows and says (its end fell in an outage, voicemail, a callback...)
CLOSED_WITH_REASON = frozenset(
    {"lost_during_disconnect", "voicemail", "callback", "closed", "callback_failed"}
)
CLOSED_OUTCOMES = CLOSED_WITH_REASON | {ANSWERED, ABANDONED}
#: agent states that must not outlive the calls (``agents.AgentState`` values)
STUCK_STATES = frozenset({"reserved", "ringing", "on_call"})
AGENT_LEG = "agentleg-"


@dataclass
class ChaosReport:
    scenario: str
    faults: int = 0
    placed: int = 0
    answered: int = 0
    abandoned: int = 0
    closed_with_reason: int = 0
    #: calls whose whole life fell while no service ran (nothing could see them)
    unseen: int = 0
    #: placed calls with no record, or a record never closed
    lost: list[str] = field(default_factory=list)
    #: calls (by Linkedid or call id) or phones that rang twice at once
    double_offers: list[str] = field(default_factory=list)
    #: Linkedids with more than one record
    duplicates: list[str] = field(default_factory=list)
    stuck_agents: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: what the PBX saw of each lost call (for the failure message)
    evidence: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not (self.lost or self.double_offers or self.duplicates or self.stuck_agents)
            and not self.problems
        )

    def explain(self) -> str:
        parts = [f"{self.scenario}: invariants broken"]
        for name in ("lost", "double_offers", "duplicates", "stuck_agents", "problems"):
            values = getattr(self, name)
            if values:
                parts.append(f"  {name} ({len(values)}): {values[:20]}")
        parts += [f"  evidence: {e}" for e in self.evidence[:5]]
        return "\n".join(parts)


def _overlapping(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    ordered = sorted(intervals)
    return [
        b for (a_start, a_end), b in itertools.pairwise(ordered) if b[0] < a_end
    ]  # fmt: skip


@dataclass
class PbxTruth:
    """What the PBX itself says about the agent legs it rang."""

    #: leg windows (frame index of Newchannel, of Hangup) by call and by phone
    legs_by_call: dict[str, list[tuple[int, int]]]
    legs_by_phone: dict[str, list[tuple[int, int]]]
    #: agent legs created and never hung up
    still_up: list[str]
    #: frame index of a call's first frame and of its last Hangup, by Linkedid
    caller_life: dict[str, tuple[int, int | None]]

    @property
    def legs(self) -> int:
        return sum(len(w) for w in self.legs_by_call.values())

    def calls_rung_twice(self) -> dict[str, list[tuple[int, int]]]:
        return {c: w for c, w in self.legs_by_call.items() if _overlapping(w)}

    def phones_rung_twice(self) -> dict[str, list[tuple[int, int]]]:
        return {p: w for p, w in self.legs_by_phone.items() if _overlapping(w)}


def pbx_truth(frames: Sequence[Message]) -> PbxTruth:
    born: dict[str, int] = {}
    by_call: dict[str, list[tuple[int, int]]] = defaultdict(list)
    by_phone: dict[str, list[tuple[int, int]]] = defaultdict(list)
    life: dict[str, tuple[int, int | None]] = {}
    for index, frame in enumerate(frames):
        if frame.event is None:
            continue
        uniqueid = frame.get("Uniqueid") or ""
        linkedid = frame.get("Linkedid") or ""
        if linkedid and linkedid not in life:
            life[linkedid] = (index, None)
        if frame.event == "Hangup" and linkedid:
            life[linkedid] = (life[linkedid][0], index)  # the last one ends the call
        if not uniqueid.startswith(AGENT_LEG) or ";" in uniqueid:
            continue
        if frame.event == "Newchannel":
            born[uniqueid] = index
        elif frame.event == "Hangup" and uniqueid in born:
            window = (born.pop(uniqueid), index)
            call_id = uniqueid.removeprefix(AGENT_LEG).rsplit("-", 1)[0]
            by_call[call_id].append(window)
            phone = (frame.get("Channel") or "").rsplit("-", 1)[0]
            by_phone[phone].append(window)
    return PbxTruth(dict(by_call), dict(by_phone), sorted(born), life)


def unseen_calls(truth: PbxTruth, windows: Sequence[tuple[int, int]]) -> set[str]:
    """Calls that began and ended inside one window of frame indexes (while no
    service was running): no ACD can have a record of them."""
    gone = set()
    for linkedid, (first, ended) in truth.caller_life.items():
        if ended is None:
            continue
        if any(start <= first and ended <= end for start, end in windows):
            gone.add(linkedid)
    return gone


async def load_records(database_url: str) -> list[CallRecord]:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            return list((await session.scalars(select(CallRecord))).all())
    finally:
        await engine.dispose()


def check(
    scenario: str,
    *,
    placed: Sequence[str],
    records: Sequence[CallRecord],
    frames: Sequence[Message],
    agent_states: Mapping[str, str],
    faults: int,
    service_down: Sequence[tuple[int, int]] = (),
) -> ChaosReport:
    """Every invariant, over one scenario's calls. ``agent_states`` maps an agent
    (login or id) to its state now; ``service_down`` are frame-index windows in
    which no service was running (calls entirely inside one are not counted as
    lost, but as unseen)."""
    report = ChaosReport(scenario, faults=faults, placed=len(placed))
    truth = pbx_truth(frames)
    unseen = unseen_calls(truth, service_down)
    by_linkedid: dict[str, list[CallRecord]] = defaultdict(list)
    for record in records:
        by_linkedid[record.linkedid].append(record)
    report.duplicates = sorted(k for k, v in by_linkedid.items() if len(v) > 1)
    strangers = sorted(set(by_linkedid) - set(placed))
    if strangers:
        report.problems.append(f"records of calls never placed: {strangers[:10]}")
    for linkedid in placed:
        found = by_linkedid.get(linkedid)
        if not found:
            if linkedid in unseen:
                report.unseen += 1
            else:
                report.lost.append(f"{linkedid}: no record")
                report.evidence.append(_timeline(linkedid, frames, truth, service_down))
            continue
        record = found[0]
        if record.ended_at is None or record.outcome is None:
            report.lost.append(f"{linkedid}: record never closed")
            continue
        if record.outcome == ANSWERED:
            report.answered += 1
        elif record.outcome == ABANDONED:
            report.abandoned += 1
        elif record.outcome in CLOSED_WITH_REASON:
            report.closed_with_reason += 1
        else:
            report.problems.append(f"{linkedid}: outcome {record.outcome!r} not in the closed set")
        _check_offers(record, report)
    for call_id, windows in truth.calls_rung_twice().items():
        report.double_offers.append(f"PBX: call {call_id} rang two agents at once {windows}")
    for phone, windows in truth.phones_rung_twice().items():
        overlaps = _overlapping(windows)
        report.double_offers.append(f"PBX: phone {phone} rang two calls at once {overlaps}")
    if truth.still_up:
        report.problems.append(f"agent legs still up on the PBX: {truth.still_up[:10]}")
    report.stuck_agents = sorted(
        f"{agent}={state}" for agent, state in agent_states.items() if state in STUCK_STATES
    )
    if not agent_states:
        report.problems.append("no agent state could be read")
    return report


def _timeline(
    linkedid: str,
    frames: Sequence[Message],
    truth: PbxTruth,
    service_down: Sequence[tuple[int, int]],
) -> str:
    """The PBX's frames of one call (index, event, channel), and the windows in
    which no service ran, to tell when the call lived against when it was seen."""
    steps = [
        f"{i}:{f.event}:{f.get('Channel') or ''}:{f.get('Cause') or ''}"
        for i, f in enumerate(frames)
        if f.event is not None and f.get("Linkedid") == linkedid
    ]
    return (
        f"{linkedid} life={truth.caller_life.get(linkedid)} service_down={list(service_down)} "
        f"frames={steps[:40]}"
    )


def _check_offers(record: CallRecord, report: ChaosReport) -> None:
    offers = [o for o in record.offers if o.kind == "offer"]
    for offer in offers:
        if offer.result is None or offer.ended_at is None:
            report.problems.append(f"{record.linkedid}: offer {offer.leg_id} has no result")
    windows: list[tuple[datetime, datetime | None]] = [(o.offered_at, o.ended_at) for o in offers]
    for (_, ended), (next_offered, _) in itertools.pairwise(sorted(windows, key=lambda w: w[0])):
        if ended is None or ended > next_offered:
            report.double_offers.append(f"record: call {record.linkedid} offered twice at once")
            break
