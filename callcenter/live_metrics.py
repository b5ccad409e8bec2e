"""Per-queue and per-state figures for ``/metrics``, read from the live call
center at scrape time.

Why a collector and not gauges set as calls move: the orchestrator already keeps
the one true picture (the wallboard's); reading it when Prometheus asks cannot
drift from it, and costs nothing between scrapes. Labels are queue names and
agent states only: never a caller, customer or agent.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callcenter.ports import Wallboard


class LiveCallCenterCollector(Collector):
    """Calls waiting and longest wait per queue, agents per state."""

    def __init__(
        self, wallboard: Callable[[], Wallboard], clock: Callable[[], float] = time.time
    ) -> None:
        self._wallboard = wallboard
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        board = self._wallboard()
        now = self._clock()
        waiting = GaugeMetricFamily(
            "callcenter_calls_waiting", "Callers waiting in the queue now.", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "callcenter_longest_wait_seconds",
            "How long the queue's longest-waiting caller has waited (0: nobody waits).",
            labels=["queue"],
        )
        for queue in board.queues:
            waiting.add_metric([queue.name], queue.waiting)
            oldest = queue.oldest_enqueued_at
            longest.add_metric([queue.name], 0.0 if oldest is None else max(0.0, now - oldest))
        agents = GaugeMetricFamily(
            "callcenter_agents", "Agents known to the router, by state.", labels=["state"]
        )
        for state, count in sorted(Counter(str(a.state) for a in board.agents).items()):
            agents.add_metric([state], count)
        yield waiting
        yield longest
        yield agents

    def describe(self) -> Iterator[Metric]:
        """Nothing at registration time: the wallboard may not exist yet."""
        return iter(())
