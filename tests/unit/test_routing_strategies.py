"""Which agent a queue picks among the eligible ones: each strategy, location
preference before it, and the agent id as the final, deterministic tie-break."""

from __future__ import annotations

import itertools

import pytest

from routing import (
    AgentFacts,
    Location,
    LocationRule,
    QueueRule,
    Router,
    RoutingRules,
    Strategy,
    WaitingCall,
)


def rules(strategy: Strategy, **queue: object) -> RoutingRules:
    return RoutingRules(
        queues=[
            QueueRule.model_validate(
                {"name": "sales", "skills": {"sales": 2}, "strategy": strategy, **queue}
            )
        ]
    )


def picked(rules: RoutingRules, agents: list[AgentFacts], now: float = 1000.0) -> int:
    """Make the agents Ready (in the given order), then a caller arrives: who gets it."""
    router = Router(rules)
    for agent in agents:
        assert router.agent_available(agent, now=now).decisions == ()
    offers = router.call_arrived(WaitingCall("c1", "sales", now), now=now).offers
    assert len(offers) == 1
    return offers[0].agent_id


def in_every_order(rules: RoutingRules, agents: list[AgentFacts]) -> set[int]:
    """Who gets the call, whatever order the agents became Ready in."""
    return {picked(rules, list(order)) for order in itertools.permutations(agents)}


def test_longest_idle_picks_the_agent_free_the_longest() -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, idle_since=900.0),
        AgentFacts(2, {"sales": 2}, idle_since=300.0),
        AgentFacts(3, {"sales": 2}, idle_since=600.0),
    ]
    assert in_every_order(rules(Strategy.LONGEST_IDLE), agents) == {2}


def test_least_occupied_picks_the_agent_with_fewest_busy_seconds_today() -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, idle_since=100.0, busy_s_today=3600.0),
        AgentFacts(2, {"sales": 2}, idle_since=900.0, busy_s_today=600.0),
        AgentFacts(3, {"sales": 2}, idle_since=200.0, busy_s_today=1800.0),
    ]
    assert in_every_order(rules(Strategy.LEAST_OCCUPIED), agents) == {2}


def test_least_occupied_tie_goes_to_the_longest_idle() -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, idle_since=500.0, busy_s_today=600.0),
        AgentFacts(2, {"sales": 2}, idle_since=100.0, busy_s_today=600.0),
    ]
    assert in_every_order(rules(Strategy.LEAST_OCCUPIED), agents) == {2}


def test_highest_proficiency_picks_the_most_skilled_agent() -> None:
    agents = [
        AgentFacts(1, {"sales": 3}, idle_since=100.0),
        AgentFacts(2, {"sales": 5}, idle_since=900.0),
        AgentFacts(3, {"sales": 4}, idle_since=50.0),
    ]
    assert in_every_order(rules(Strategy.HIGHEST_PROFICIENCY), agents) == {2}


def test_highest_proficiency_adds_up_every_required_skill() -> None:
    two_skills = RoutingRules(
        queues=[
            QueueRule(
                name="sales",
                skills={"sales": 2, "french": 2},
                strategy=Strategy.HIGHEST_PROFICIENCY,
            )
        ]
    )
    agents = [
        AgentFacts(1, {"sales": 5, "french": 2}),  # 7
        AgentFacts(2, {"sales": 4, "french": 4}),  # 8
        AgentFacts(3, {"sales": 5, "german": 5}),  # not eligible: no french
    ]
    assert in_every_order(two_skills, agents) == {2}


def test_highest_proficiency_tie_goes_to_the_longest_idle() -> None:
    agents = [
        AgentFacts(1, {"sales": 4}, idle_since=800.0),
        AgentFacts(2, {"sales": 4}, idle_since=200.0),
    ]
    assert in_every_order(rules(Strategy.HIGHEST_PROFICIENCY), agents) == {2}


def test_lowest_cost_picks_the_cheapest_location_first() -> None:
    # default costs per minute: home 0.4 < on-site 0.5 < remote site 0.6
    agents = [
        AgentFacts(1, {"sales": 2}, location="on_site", idle_since=0.0),
        AgentFacts(2, {"sales": 2}, location="remote_site", idle_since=0.0),
        AgentFacts(3, {"sales": 2}, location="home", idle_since=900.0),
    ]
    assert in_every_order(rules(Strategy.LOWEST_COST), agents) == {3}


def test_lowest_cost_tie_goes_to_the_longest_idle() -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, location="home", idle_since=700.0),
        AgentFacts(2, {"sales": 2}, location="home", idle_since=100.0),
    ]
    assert in_every_order(rules(Strategy.LOWEST_COST), agents) == {2}


def test_round_robin_takes_agents_in_turn() -> None:
    router = Router(rules(Strategy.ROUND_ROBIN))
    now = 0.0
    for agent_id in (3, 1, 2):
        router.agent_available(AgentFacts(agent_id, {"sales": 2}), now=now)
    served: list[int] = []
    for n in range(7):
        now += 10.0
        offers = router.call_arrived(WaitingCall(f"c{n}", "sales", now), now=now).offers
        assert len(offers) == 1
        agent_id = offers[0].agent_id
        served.append(agent_id)
        router.call_left(f"c{n}", now=now + 1)
        # back to Ready, having been idle far longer than the others
        router.agent_available(AgentFacts(agent_id, {"sales": 2}, idle_since=-1e6), now=now + 2)
    assert served == [1, 2, 3, 1, 2, 3, 1]


def test_round_robin_turns_are_per_queue() -> None:
    two_queues = RoutingRules(
        queues=[
            QueueRule(name="sales", skills={"sales": 1}, strategy=Strategy.ROUND_ROBIN),
            QueueRule(name="billing", skills={"sales": 1}, strategy=Strategy.ROUND_ROBIN),
        ]
    )
    router = Router(two_queues)
    for agent_id in (1, 2):
        router.agent_available(AgentFacts(agent_id, {"sales": 1}), now=0.0)
    first = router.call_arrived(WaitingCall("s1", "sales", 1.0), now=1.0).offers
    assert [o.agent_id for o in first] == [1]
    router.call_left("s1", now=2.0)
    router.agent_available(AgentFacts(1, {"sales": 1}), now=3.0)
    # agent 1 took a sales call, not a billing one: billing still starts with 1
    billing = router.call_arrived(WaitingCall("b1", "billing", 4.0), now=4.0).offers
    assert [o.agent_id for o in billing] == [1]


@pytest.mark.parametrize(
    "strategy",
    [s for s in Strategy if s is not Strategy.LOWEST_COST],
)
def test_on_site_agent_is_preferred_over_a_better_agent_at_home(strategy: Strategy) -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, location="on_site", idle_since=900.0, busy_s_today=5000.0),
        AgentFacts(2, {"sales": 5}, location="home", idle_since=0.0, busy_s_today=0.0),
        AgentFacts(3, {"sales": 5}, location="remote_site", idle_since=0.0, busy_s_today=0.0),
    ]
    assert in_every_order(rules(strategy), agents) == {1}


def test_remote_site_is_preferred_over_home_by_default() -> None:
    agents = [
        AgentFacts(1, {"sales": 2}, location="home", idle_since=0.0),
        AgentFacts(2, {"sales": 2}, location="remote_site", idle_since=900.0),
    ]
    assert in_every_order(rules(Strategy.LONGEST_IDLE), agents) == {2}


def test_location_preference_comes_from_the_rules() -> None:
    home_first = RoutingRules(
        queues=[QueueRule(name="sales", skills={"sales": 2})],
        locations=[
            LocationRule(location=Location.HOME, preference=0),
            LocationRule(location=Location.ON_SITE, preference=5),
        ],
    )
    agents = [
        AgentFacts(1, {"sales": 2}, location="on_site", idle_since=0.0),
        AgentFacts(2, {"sales": 2}, location="home", idle_since=900.0),
    ]
    assert in_every_order(home_first, agents) == {2}


def test_lowest_cost_uses_the_rules_costs_before_preference() -> None:
    cheap_remote = RoutingRules(
        queues=[QueueRule(name="sales", skills={"sales": 2}, strategy=Strategy.LOWEST_COST)],
        locations=[
            LocationRule(location=Location.ON_SITE, cost_per_min=0.9, preference=0),
            LocationRule(location=Location.REMOTE_SITE, cost_per_min=0.2, preference=9),
        ],
    )
    agents = [
        AgentFacts(1, {"sales": 2}, location="on_site"),
        AgentFacts(2, {"sales": 2}, location="remote_site"),
    ]
    assert in_every_order(cheap_remote, agents) == {2}


@pytest.mark.parametrize("strategy", list(Strategy))
def test_complete_tie_goes_to_the_lowest_agent_id(strategy: Strategy) -> None:
    agents = [AgentFacts(agent_id, {"sales": 3}, idle_since=100.0) for agent_id in (14, 5, 9)]
    assert in_every_order(rules(strategy), agents) == {5}


def test_explanation_names_the_strategy_and_why_the_agent_won() -> None:
    router = Router(rules(Strategy.LONGEST_IDLE))
    router.agent_available(AgentFacts(1, {"sales": 2}, idle_since=940.0), now=990.0)
    router.agent_available(AgentFacts(2, {"sales": 2}, idle_since=700.0), now=990.0)
    offer = router.call_arrived(WaitingCall("c1", "sales", 1000.0), now=1000.0).offers[0]
    assert offer.agent_id == 2
    assert offer.explanation.strategy == "longest_idle"
    chosen, runner_up = offer.explanation.candidates
    assert chosen.why == "agent 2 (on_site): idle 300 s, best by longest_idle"
    assert runner_up.why == "agent 1 (on_site): idle 60 s, ranked after agent 2"
