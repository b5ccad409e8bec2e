"""Erlang C: how many agents a queue needs for its traffic.

With ``A`` Erlangs of traffic (arrival rate x AHT) offered to ``N`` agents, and
Erlang B computed by its recursion (stable for thousands of agents, no
factorials)::

    B(0, A) = 1
    B(n, A) = A B(n-1, A) / (n + A B(n-1, A))

    C(N, A) = N B(N, A) / (N - A (1 - B(N, A)))        probability of waiting
    SL(t)   = 1 - C(N, A) exp(-(N - A) t / AHT)        answered within t seconds
    ASA     = C(N, A) AHT / (N - A)

The model assumes Poisson arrivals, exponential handle times and callers who
never hang up; with N <= A the queue grows without bound (C = 1, SL = 0,
ASA infinite).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def erlang_b(agents: int, traffic_erlangs: float) -> float:
    """Probability that a call finds every agent busy, with no queue (blocking)."""
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic_erlangs * blocking / (n + traffic_erlangs * blocking)
    return blocking


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """Probability that a call waits; 1.0 when agents <= traffic."""
    if agents <= traffic_erlangs:
        return 1.0
    return _erlang_c_from_b(agents, traffic_erlangs, erlang_b(agents, traffic_erlangs))


def service_level(agents: int, traffic_erlangs: float, aht_s: float, threshold_s: float) -> float:
    """Share of calls answered within ``threshold_s``."""
    if agents <= traffic_erlangs:
        return 0.0
    return _service_level(
        agents, traffic_erlangs, erlang_c(agents, traffic_erlangs), aht_s, threshold_s
    )


def average_speed_of_answer(agents: int, traffic_erlangs: float, aht_s: float) -> float:
    """Mean wait of all calls (those answered at once count 0); inf when agents <= traffic."""
    if agents <= traffic_erlangs:
        return math.inf
    return erlang_c(agents, traffic_erlangs) * aht_s / (agents - traffic_erlangs)


def agents_needed(
    arrival_rate_per_s: float,
    aht_s: float,
    *,
    target_service_level: float,
    threshold_s: float,
    max_occupancy: float | None = None,
) -> int:
    """The smallest number of agents meeting the target (0 when there is no traffic).

    With ``max_occupancy``, also the smallest with traffic / agents at most that.
    """
    if not 0.0 <= target_service_level < 1.0:
        raise ValueError(f"target service level must be in [0, 1), not {target_service_level}")
    if max_occupancy is not None and not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"max occupancy must be in (0, 1], not {max_occupancy}")
    traffic = arrival_rate_per_s * aht_s
    if traffic <= 0:
        return 0
    # Erlang B grows one agent at a time, so the search costs O(N) in all.
    blocking, agents = 1.0, 0
    while True:
        agents += 1
        blocking = traffic * blocking / (agents + traffic * blocking)
        if agents <= traffic:
            continue
        if max_occupancy is not None and traffic / agents > max_occupancy:
            continue
        waiting = _erlang_c_from_b(agents, traffic, blocking)
        if _service_level(agents, traffic, waiting, aht_s, threshold_s) >= target_service_level:
            return agents


@dataclass(frozen=True, slots=True)
class StaffingFigures:
    queue: str
    arrival_rate_per_h: float
    aht_s: float | None
    traffic_erlangs: float | None
    #: None when the AHT is unknown (no answered call yet) and there is traffic
    agents_needed: int | None
    target_service_level: float
    threshold_s: float
    expected_service_level: float | None
    expected_asa_s: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "arrival_rate_per_h": round(self.arrival_rate_per_h, 4),
            "aht_s": _rounded(self.aht_s),
            "traffic_erlangs": _rounded(self.traffic_erlangs),
            "agents_needed": self.agents_needed,
            "target_service_level": self.target_service_level,
            "threshold_s": self.threshold_s,
            "expected_service_level": _rounded(self.expected_service_level),
            "expected_asa_s": _rounded(self.expected_asa_s),
        }


def staffing(
    queue: str,
    calls_in_window: int,
    window_s: float,
    aht_s: float | None,
    target_service_level: float,
    threshold_s: float,
    *,
    max_occupancy: float | None = None,
) -> StaffingFigures:
    """Agents needed now for the arrival rate seen over a window (e.g. 30 min).

    The expected SL and ASA are those with the needed agents; None when no
    agents are needed (no traffic) or the AHT is unknown.
    """
    rate_per_s = calls_in_window / window_s if window_s > 0 else 0.0
    if rate_per_s > 0 and (aht_s is None or aht_s <= 0):
        traffic = None
        needed = None
    else:
        traffic = rate_per_s * (aht_s or 0.0)
        needed = agents_needed(
            rate_per_s,
            aht_s or 0.0,
            target_service_level=target_service_level,
            threshold_s=threshold_s,
            max_occupancy=max_occupancy,
        )
    expected_sl = expected_asa = None
    if needed and traffic is not None and aht_s:
        expected_sl = service_level(needed, traffic, aht_s, threshold_s)
        expected_asa = average_speed_of_answer(needed, traffic, aht_s)
    return StaffingFigures(
        queue=queue,
        arrival_rate_per_h=rate_per_s * 3600.0,
        aht_s=aht_s,
        traffic_erlangs=traffic,
        agents_needed=needed,
        target_service_level=target_service_level,
        threshold_s=threshold_s,
        expected_service_level=expected_sl,
        expected_asa_s=expected_asa,
    )


def _erlang_c_from_b(agents: int, traffic: float, blocking: float) -> float:
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def _service_level(
    agents: int, traffic: float, waiting: float, aht_s: float, threshold_s: float
) -> float:
    return max(0.0, 1.0 - waiting * math.exp(-(agents - traffic) * threshold_s / aht_s))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
