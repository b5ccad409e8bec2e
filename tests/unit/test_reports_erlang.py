"""Erlang C against an independent exact computation and textbook cases.

The classic staffing example (used, among others, by callcentrehelper.com's
"Erlang C formula - made simple" worked example): 100 calls per 30 minutes,
AHT 180 s, target 80 % answered within 20 s. Traffic = 100 x 180 / 1800 = 10
Erlangs. The expected values are not copied from that page: they are computed
here from the textbook closed form

    C(N, A) = (A^N / N! x N / (N - A)) / (sum_{k<N} A^k / k! + A^N / N! x N / (N - A))

in exact rational arithmetic (``fractions``), independently of the module's
Erlang B recursion. They give P(wait) 0.2853 and SL 79.6 % with 13 agents,
0.1741 and 88.8 % with 14: 14 agents are needed.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from callcenter.reports import (
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing,
)


def exact_erlang_c(agents: int, traffic: Fraction) -> Fraction:
    top = traffic**agents / math.factorial(agents) * Fraction(agents) / (agents - traffic)
    below = sum(traffic**k / math.factorial(k) for k in range(agents))
    return top / (below + top)


@pytest.mark.parametrize("agents", [11, 12, 13, 14, 15, 20])
def test_erlang_c_matches_the_factorial_formula(agents: int) -> None:
    assert erlang_c(agents, 10.0) == pytest.approx(
        float(exact_erlang_c(agents, Fraction(10))), rel=1e-12
    )


def test_classic_example_needs_14_agents_for_80_in_20() -> None:
    waiting_13 = float(exact_erlang_c(13, Fraction(10)))
    waiting_14 = float(exact_erlang_c(14, Fraction(10)))
    # SL = 1 - C exp(-(N - A) t / AHT)
    assert service_level(13, 10.0, 180, 20) == pytest.approx(
        1 - waiting_13 * math.exp(-3 * 20 / 180), rel=1e-12
    )
    assert service_level(13, 10.0, 180, 20) == pytest.approx(0.7956, abs=1e-4)
    assert service_level(14, 10.0, 180, 20) == pytest.approx(0.8884, abs=1e-4)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741, abs=1e-4)
    # ASA = C AHT / (N - A) = 0.17413 x 180 / 4
    assert average_speed_of_answer(14, 10.0, 180) == pytest.approx(waiting_14 * 45, rel=1e-12)
    assert agents_needed(100 / 1800, 180, target_service_level=0.8, threshold_s=20) == 14


def test_textbook_single_and_two_server_queues() -> None:
    # M/M/1: P(wait) = utilisation; Wq = rho / (mu - lambda) = 0.5 / 0.5 AHT
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    assert average_speed_of_answer(1, 0.5, 1.0) == pytest.approx(1.0)
    # M/M/2 with A = 1: (1/2 x 2) / (1 + 1 + 1) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Erlang B for 2 lines, 1 Erlang: (1/2) / (1 + 1 + 1/2) = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2)


def test_overloaded_queue_always_waits() -> None:
    assert erlang_c(10, 10.0) == 1.0
    assert service_level(9, 10.0, 180, 20) == 0.0
    assert average_speed_of_answer(10, 10.0, 180) == math.inf


def test_stable_for_thousands_of_agents() -> None:
    # log-space factorial formula (lgamma) as the independent computation
    agents, traffic = 1100, 1000.0
    log_top = agents * math.log(traffic) - math.lgamma(agents + 1) + math.log(agents / 100)
    log_terms = [k * math.log(traffic) - math.lgamma(k + 1) for k in range(agents)]
    peak = max(*log_terms, log_top)
    below = sum(math.exp(term - peak) for term in log_terms)
    expected = math.exp(log_top - peak) / (below + math.exp(log_top - peak))
    assert erlang_c(agents, traffic) == pytest.approx(expected, rel=1e-9)
    needed = agents_needed(1000 / 180, 180, target_service_level=0.8, threshold_s=20)
    assert (
        service_level(needed, traffic, 180, 20) >= 0.8 > service_level(needed - 1, traffic, 180, 20)
    )


def test_no_traffic_needs_no_agents_and_occupancy_caps_raise_the_count() -> None:
    assert agents_needed(0.0, 180, target_service_level=0.8, threshold_s=20) == 0
    # 10 Erlangs at most 60 % occupancy: 10 / 0.6 = 16.7, so 17 agents
    capped = agents_needed(
        100 / 1800, 180, target_service_level=0.8, threshold_s=20, max_occupancy=0.6
    )
    assert capped == 17
    with pytest.raises(ValueError):
        agents_needed(1.0, 180, target_service_level=1.0, threshold_s=20)


def test_staffing_from_the_window_seen() -> None:
    figures = staffing("support", 100, 1800, 180, 0.8, 20)
    assert figures.arrival_rate_per_h == pytest.approx(200.0)
    assert figures.traffic_erlangs == pytest.approx(10.0)
    assert figures.agents_needed == 14
    assert figures.expected_service_level == pytest.approx(0.8884, abs=1e-4)
    assert figures.expected_asa_s == pytest.approx(7.836, abs=1e-3)
    assert figures.as_json()["agents_needed"] == 14


def test_staffing_without_traffic_or_without_aht() -> None:
    idle = staffing("support", 0, 1800, None, 0.8, 20)
    assert (idle.agents_needed, idle.traffic_erlangs, idle.expected_service_level) == (
        0,
        0.0,
        None,
    )
    unknown = staffing("support", 12, 1800, None, 0.8, 20)
    assert (unknown.agents_needed, unknown.traffic_erlangs) == (None, None)
