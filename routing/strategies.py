"""How a queue orders the agents eligible for a call.

Every strategy gives an agent a sort key that does not change while the agent
is Ready, so pools stay sorted without re-sorting: longest idle by when the agent
became free, least occupied by busy seconds today, highest proficiency by the
agent's skill for that queue, round robin by when the queue last offered the
agent a call, lowest cost by the location's cost. Location preference comes
first (on-site before partner, as the rules rank them), except for lowest cost,
where cost comes first. The agent id breaks every remaining tie.
"""

from __future__ import annotations

from routing.compiled import CompiledRules, Step
from routing.model import AgentFacts
from routing.rules import Strategy

AgentKey = tuple[float, float, float, int]


def agent_key(
    rules: CompiledRules,
    strategy: Strategy,
    step: Step,
    agent: AgentFacts,
    last_offer_seq: int,
) -> AgentKey:
    proficiency = step.proficiency(agent.skills) if strategy is Strategy.HIGHEST_PROFICIENCY else 0
    return key_of(strategy, rules.rank(agent.location), agent, proficiency, last_offer_seq)


def key_of(
    strategy: Strategy,
    rank: tuple[int, float],
    agent: AgentFacts,
    proficiency: int,
    last_offer_seq: int,
) -> AgentKey:
    """``agent_key`` from what a router can keep per agent: the location's
    (preference, cost) and the agent's proficiency for the queue."""
    preference, cost = rank
    match strategy:
        case Strategy.LONGEST_IDLE:
            return (preference, agent.idle_since, 0.0, agent.agent_id)
        case Strategy.LEAST_OCCUPIED:
            return (preference, agent.busy_s_today, agent.idle_since, agent.agent_id)
        case Strategy.HIGHEST_PROFICIENCY:
            return (preference, -proficiency, agent.idle_since, agent.agent_id)
        case Strategy.ROUND_ROBIN:
            return (preference, last_offer_seq, 0.0, agent.agent_id)
        case Strategy.LOWEST_COST:
            return (cost, preference, agent.idle_since, agent.agent_id)


def describe(strategy: Strategy, key: AgentKey, now: float) -> str:
    """Why an agent sits where it does, in words."""
    match strategy:
        case Strategy.LONGEST_IDLE:
            return f"idle {max(0.0, now - key[1]):.0f} s"
        case Strategy.LEAST_OCCUPIED:
            return f"busy {key[1]:.0f} s today"
        case Strategy.HIGHEST_PROFICIENCY:
            return f"proficiency {-key[1]:.0f}"
        case Strategy.ROUND_ROBIN:
            return "next in turn" if key[1] == 0 else f"last offered turn {key[1]:.0f}"
        case Strategy.LOWEST_COST:
            return f"cost {key[0]:g}/min"
