"""A caller's priority: who the customer is, which queue, and how long they waited.

priority(t) = tier points + value points + queue points + aging_per_s * (t - enqueued)

Because every caller ages at the same rate, the order between two callers never
changes while they wait: ``base - aging_per_s * enqueued_at`` is a fixed sort key.
So the router keeps callers in sorted order once, instead of re-sorting at every
tick, and a gold customer who just called is overtaken by a bronze one exactly
when the bronze one has waited (gold - bronze) / aging_per_s seconds longer.
"""

from __future__ import annotations

from routing.explain import PriorityBreakdown
from routing.model import WaitingCall
from routing.rules import PriorityPolicy, QueueRule

#: (negated static priority, enqueued_at, call_id): ascending = served first
CallKey = tuple[float, float, str]


def base_points(policy: PriorityPolicy, queue: QueueRule, call: WaitingCall) -> int:
    return _tier_points(policy, call) + _value_points(policy, call) + queue.priority


def call_key(policy: PriorityPolicy, queue: QueueRule, call: WaitingCall) -> CallKey:
    static = base_points(policy, queue, call) - policy.aging_per_s * call.enqueued_at
    return (-static, call.enqueued_at, call.call_id)


def breakdown(
    policy: PriorityPolicy, queue: QueueRule, call: WaitingCall, now: float
) -> PriorityBreakdown:
    return PriorityBreakdown(
        tier=call.tier,
        tier_points=_tier_points(policy, call),
        value_points=_value_points(policy, call),
        queue_points=queue.priority,
        aging_points=policy.aging_per_s * max(0.0, now - call.enqueued_at),
    )


def _tier_points(policy: PriorityPolicy, call: WaitingCall) -> int:
    return policy.tiers.get(call.tier, 0) if call.tier else 0


def _value_points(policy: PriorityPolicy, call: WaitingCall) -> int:
    points = 0
    for band in policy.lifetime_value:
        if call.lifetime_value >= band.min_value:
            points = max(points, band.points)
    return points
