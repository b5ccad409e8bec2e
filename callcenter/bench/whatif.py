"""How long a what-if takes: a synthetic busy day replayed through the router.

The workload (seeded ``random.Random``): the shipped example rules
(``config/routing.toml``), ``agents`` agents each with one to three of the
rules' skills at proficiency 1-5, on shift for eight hours in three staggered
shifts; ``calls`` calls spread over a day into the rules' queues (Poisson
arrivals), handle times exponential around three minutes, one caller in five
hanging up after an exponential patience around a minute. The figure is the
wall time of ``routing.whatif.compare`` (the live rules against a draft that
lowers every queue's minimum proficiency by one), which is what an admin waits
for after pressing What-if; ``cpu_s`` is the same call in process CPU time.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from callcenter.db.routing_rules import read_rules_file
from routing.rules import RoutingRules
from routing.whatif import PastCall, PastShift, compare

DAY_S = 86_400.0
EXAMPLE_RULES = Path(__file__).resolve().parents[2] / "config" / "routing.toml"


def workload(
    rules: RoutingRules, *, calls: int, agents: int, seed: int
) -> tuple[list[PastCall], list[PastShift]]:
    rng = random.Random(seed)
    queues = [q.name for q in rules.queues]
    skills = sorted({skill for q in rules.queues for skill in q.skills})
    shifts = []
    for agent_id in range(1, agents + 1):
        start = (agent_id % 3) * 8 * 3600.0
        chosen = rng.sample(skills, k=min(len(skills), rng.randint(1, 3)))
        shifts.append(
            PastShift(
                agent_id,
                {skill: rng.randint(1, 5) for skill in chosen},
                "on_site",
                start,
                start + 8 * 3600.0,
            )
        )
    past = []
    at = 0.0
    for n in range(calls):
        at += rng.expovariate(calls / DAY_S)
        abandons = rng.random() < 0.2
        past.append(
            PastCall(
                call_id=f"c{n}",
                queue=rng.choice(queues),
                arrived_at=at,
                tier=rng.choice(["bronze", "silver", "gold", "platinum"]),
                lifetime_value=rng.uniform(0, 20_000),
                handle_s=None if abandons else rng.expovariate(1 / 180.0),
                patience_s=rng.expovariate(1 / 60.0) if abandons else None,
            )
        )
    return past, shifts


def relaxed(rules: RoutingRules) -> RoutingRules:
    """A draft: every queue's minimum proficiency one lower (at least 1), the
    bullseye steps that would then tighten it dropped."""
    document = rules.model_dump(mode="json")
    for queue in document["queues"]:
        queue["skills"] = {skill: max(1, level - 1) for skill, level in queue["skills"].items()}
        queue["steps"] = []
    return RoutingRules.model_validate(document)


def run(*, calls: int, agents: int, seed: int, rules_file: Path = EXAMPLE_RULES) -> dict[str, Any]:
    rules = read_rules_file(rules_file)
    past, shifts = workload(rules, calls=calls, agents=agents, seed=seed)
    draft = relaxed(rules)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = compare(rules, draft, past, shifts)
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    return {
        "benchmark": "whatif",
        "calls": calls,
        "agents": agents,
        "seed": seed,
        "replay_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "calls_replayed_per_s": round(2 * calls / wall_s) if wall_s else None,
        "live_service_level": result["live"]["overall"]["service_level"],
        "draft_service_level": result["draft"]["overall"]["service_level"],
        "live_occupancy": result["live"]["overall"]["occupancy"],
    }
