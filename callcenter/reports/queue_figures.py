"""Per-queue call figures over a period (wallboard and historical reports).

Definitions (docs/reports.md states them beside the numbers):

- a call counts in the period in which it ended its queue part
  (``CallFact.counted_at``): answered at its first answer, others at their end;
  calls still waiting do not count; an answered call still connected counts as
  answered (and in ASA) but not yet in the handle-time means;
- **offered**: every call that counts: answered + abandoned (short ones
  included) + other outcomes;
- **short abandon**: a caller who hung up after waiting less than
  ``short_abandon_s`` (a misdial, not a lost customer); with
  ``exclude_short_abandons`` they are left out of the *counted* abandons, which
  the rates use;
- **SL** (Asterisk's): answered within the queue's threshold / answered;
- **SL2**: answered within the threshold / (answered + counted abandons);
- "within" means a wait ``<=`` the threshold, for answers and abandons alike;
- **ASA**: mean wait (enqueue to first answer) of the answered calls;
- **AHT**: mean of talk + hold + wrap-up of the answered calls that ended, with
  talk = (end - first answer) - hold: a transferred call counts once, its whole
  connected time being its handle time;
- **abandon rate**: counted abandons / (answered + counted abandons);
- **other outcomes**: voicemail, callback requested, closed, callback failed,
  lost in a disconnect: neither answered nor abandoned. A callback call placed
  later is a call of its own; answered, it counts as answered with its wait
  from its own ``enqueued_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from callcenter.reports.csat import csat_of
from callcenter.reports.facts import ABANDONED, CALLBACK, CallFact
from callcenter.reports.periods import Period

DEFAULT_SERVICE_LEVEL_S = 20.0
DEFAULT_SHORT_ABANDON_S = 5.0


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    service_level_s: Mapping[str, float] = field(default_factory=dict)
    default_service_level_s: float = DEFAULT_SERVICE_LEVEL_S
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S
    exclude_short_abandons: bool = True

    def threshold_s(self, queue: str) -> float:
        return self.service_level_s.get(queue, self.default_service_level_s)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    offered: int
    answered: int
    answered_within: int
    #: every abandon, short ones included
    abandoned: int
    short_abandons: int
    #: counted abandons that waited no longer than the threshold
    abandoned_within: int
    other_outcomes: int
    service_level: float | None
    service_level_with_abandons: float | None
    asa_s: float | None
    aht_s: float | None
    avg_talk_s: float | None
    avg_hold_s: float | None
    avg_wrap_up_s: float | None
    abandon_rate: float | None
    longest_wait_s: float | None
    csat_avg: float | None
    csat_responses: int
    #: the abandons the rates use (short ones left out when excluded)
    counted_abandons: int = 0
    #: counted abandons whose caller hung up while an agent's phone rang
    abandoned_ringing: int = 0
    #: callers who left the queue asking to be called back (in other_outcomes)
    callbacks_requested: int = 0
    #: answered calls that were callbacks (in answered)
    callbacks_answered: int = 0

    def as_json(self) -> dict[str, Any]:
        return {f.name: _rounded(getattr(self, f.name)) for f in fields(self)}


EMPTY = QueueFigures(
    offered=0,
    answered=0,
    answered_within=0,
    abandoned=0,
    short_abandons=0,
    abandoned_within=0,
    other_outcomes=0,
    service_level=None,
    service_level_with_abandons=None,
    asa_s=None,
    aht_s=None,
    avg_talk_s=None,
    avg_hold_s=None,
    avg_wrap_up_s=None,
    abandon_rate=None,
    longest_wait_s=None,
    csat_avg=None,
    csat_responses=0,
)


def queue_figures(
    calls: Iterable[CallFact],
    period: Period,
    policy: ReportPolicy,
    *,
    queues: Iterable[str] = (),
) -> dict[str, QueueFigures]:
    """Figures by queue, sorted by name; ``queues`` are present even when idle."""
    by_queue: defaultdict[str, list[CallFact]] = defaultdict(list)
    for queue in queues:
        by_queue.setdefault(queue, [])
    for call in in_period(calls, period):
        by_queue[call.queue].append(call)
    return {queue: figures_of(group, policy) for queue, group in sorted(by_queue.items())}


def overall_figures(
    calls: Iterable[CallFact], period: Period, policy: ReportPolicy
) -> QueueFigures:
    """All queues together, each call judged against its own queue's threshold."""
    return figures_of(in_period(calls, period), policy)


def in_period(calls: Iterable[CallFact], period: Period) -> list[CallFact]:
    return [call for call in calls if call.counted_at in period]


def figures_of(calls: Iterable[CallFact], policy: ReportPolicy) -> QueueFigures:
    """Figures of calls already chosen as counting (no period test here)."""
    calls = [call for call in calls if call.counted_at is not None]
    answered = [call for call in calls if call.answered]
    abandons = [call for call in calls if not call.answered and call.outcome == ABANDONED]
    short = [call for call in abandons if _wait(call) < policy.short_abandon_s]
    counted = (
        [call for call in abandons if _wait(call) >= policy.short_abandon_s]
        if policy.exclude_short_abandons
        else abandons
    )
    others = [call for call in calls if not call.answered and call.outcome != ABANDONED]
    within = sum(1 for call in answered if _wait(call) <= policy.threshold_s(call.queue))
    ended = [call for call in answered if call.connected_s is not None]
    waits = [_wait(call) for call in (*answered, *abandons)]
    csat_avg, csat_responses = csat_of(calls)
    return QueueFigures(
        offered=len(calls),
        answered=len(answered),
        answered_within=within,
        abandoned=len(abandons),
        short_abandons=len(short),
        abandoned_within=sum(
            1 for call in counted if _wait(call) <= policy.threshold_s(call.queue)
        ),
        other_outcomes=len(others),
        service_level=_ratio(within, len(answered)),
        service_level_with_abandons=_ratio(within, len(answered) + len(counted)),
        asa_s=_mean(_wait(call) for call in answered),
        aht_s=_mean(call.handle_s or 0.0 for call in ended),
        avg_talk_s=_mean(call.talk_s or 0.0 for call in ended),
        avg_hold_s=_mean(call.hold_s for call in ended),
        avg_wrap_up_s=_mean(call.wrap_up_s for call in ended),
        abandon_rate=_ratio(len(counted), len(answered) + len(counted)),
        longest_wait_s=max(waits) if waits else None,
        csat_avg=csat_avg,
        csat_responses=csat_responses,
        counted_abandons=len(counted),
        abandoned_ringing=sum(1 for call in counted if call.abandon_phase == "ringing"),
        callbacks_requested=sum(1 for call in others if call.outcome == CALLBACK),
        callbacks_answered=sum(1 for call in answered if call.callback),
    )


def _wait(call: CallFact) -> float:
    wait = call.wait_s
    return 0.0 if wait is None else wait


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) / len(items) if items else None


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value
