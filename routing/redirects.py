"""Where a call goes when its queue cannot take it: closed hours and max wait.

Shared by the indexed and the reference router, so both word it the same way.
"""

from __future__ import annotations

from collections.abc import Collection

from routing.compiled import CompiledQueue, CompiledRules
from routing.eligibility import Waiting, overflow_due
from routing.explain import Explanation
from routing.model import Closed, Overflow, WaitingCall
from routing.priority import breakdown


def serving_queue(
    rules: CompiledRules, call: WaitingCall, now: float
) -> tuple[CompiledQueue | None, list[Closed]]:
    """The queue the call is served in, following closed actions into other
    queues; None when it leaves (voicemail, callback, hang-up). Callers already
    waiting when a queue closes stay: closing hours turn new callers away only."""
    decisions: list[Closed] = []
    queue = rules.queues[call.queue]
    if call.admitted_at is not None:
        return queue, decisions
    for _ in range(len(rules.queues)):
        if queue.calendar is None:
            return queue, decisions
        state = queue.calendar.state_at(now)
        if state.is_open:
            return queue, decisions
        action = queue.rule.closed_action
        explanation = Explanation(
            trigger="closed",
            queue=queue.name,
            step="-",
            strategy=queue.strategy_name,
            notes=(state.reason, f"closed action: {action}"),
        )
        decisions.append(Closed(call.call_id, queue.name, action, explanation))
        if action.queue is None:
            return None, decisions
        queue = rules.queues[action.queue]
    # every queue on the way is closed and they send calls round in a circle
    return None, decisions


def overflow_decision(
    rules: CompiledRules, waiting: Waiting, queue: CompiledQueue, now: float
) -> Overflow:
    target = queue.overflow
    assert target is not None  # validation: max_wait_s comes with an overflow target
    waited = now - waiting.entered_at
    explanation = Explanation(
        trigger="max wait",
        queue=queue.name,
        step=queue.steps[waiting.step].label,
        strategy=queue.strategy_name,
        priority=breakdown(rules.rules.priority, queue.rule, waiting.call, now),
        notes=(f"waited {waited:.0f} s of at most {queue.max_wait_s:g} s; to {target}",),
    )
    return Overflow(waiting.call.call_id, queue.name, target, explanation)


def stranded_queues(
    old: CompiledRules,
    new: CompiledRules,
    waiting: Collection[Waiting],
    offered: Collection[Waiting],
    now: float,
) -> list[str]:
    """Queues missing from ``new`` that have callers at ``now``: waiting or ringing
    there, or being sent there by a max wait that falls due by ``now`` (settled
    before new rules apply, so it would move them into a queue that is gone)."""
    queues = {w.queue for w in (*waiting, *offered)}
    for w in waiting:
        queue = old.queues[w.queue]
        target = queue.overflow.queue if queue.overflow is not None else None
        if target is not None and overflow_due(queue, w, now):
            queues.add(target)
    return sorted(queues - set(new.queues))
