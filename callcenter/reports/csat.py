"""CSAT: the mean post-call survey score (1..5) and how many callers answered.

A survey counts with its call, in the period the call ended its queue part
(``CallFact.counted_at``); calls without a score are left out of the mean, so
the number of responses is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from callcenter.reports.facts import CallFact
from callcenter.reports.periods import Period

Csat = tuple[float | None, int]


def csat_of(calls: Iterable[CallFact]) -> Csat:
    """(mean score or None without responses, number of responses)."""
    scores = [call.csat for call in calls if call.csat is not None]
    return (sum(scores) / len(scores) if scores else None), len(scores)


def csat_by_queue(calls: Iterable[CallFact], period: Period) -> dict[str, Csat]:
    by_queue: defaultdict[str, list[CallFact]] = defaultdict(list)
    for call in calls:
        if call.csat is not None and call.counted_at in period:
            by_queue[call.queue].append(call)
    return {queue: csat_of(group) for queue, group in sorted(by_queue.items())}


def csat_by_agent(calls: Iterable[CallFact], period: Period) -> dict[int, Csat]:
    """Scores credited to the agent who answered the call first."""
    by_agent: defaultdict[int, list[CallFact]] = defaultdict(list)
    for call in calls:
        if call.csat is not None and call.agent_id is not None and call.counted_at in period:
            by_agent[call.agent_id].append(call)
    return {agent: csat_of(group) for agent, group in sorted(by_agent.items())}
