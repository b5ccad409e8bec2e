"""The shipped example rules (config/routing.toml): they parse, and they cover the demo.

`callcenter seed` publishes this file as the demo's first rules version, so a
mistake in it would stop `make run`, and a demo queue without a rule would leave
its callers unrouted.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from callcenter.db.seed import QUEUES, TIERS
from routing.hours import Calendar
from routing.rules import Location, RoutingRules

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "routing.toml"
SCENARIO = Path(__file__).resolve().parents[2] / "config" / "scenarios" / "demo.toml"


def _example() -> RoutingRules:
    with EXAMPLE.open("rb") as file:
        return RoutingRules.model_validate(tomllib.load(file))


def test_the_example_rules_parse() -> None:
    rules = _example()
    assert rules.queues and rules.priority.lifetime_value


def test_every_demo_queue_has_a_rule_requiring_its_skill() -> None:
    rules = _example()
    for name, _did, skill in QUEUES:
        rule = rules.queue(name)
        assert rule is not None, f"no rule for the demo queue {name!r}"
        assert skill in rule.skills


def test_the_priority_tiers_are_the_crms_tiers() -> None:
    assert set(_example().priority.tiers) == {tier for tier, _weight in TIERS}


def test_the_queues_the_demo_calls_are_always_open() -> None:
    # `make run` callers must never meet a closed queue: a week of instants.
    with SCENARIO.open("rb") as file:
        called = set(tomllib.load(file)["arrivals"])
    rules = _example()
    start = time.time()
    for name in called:
        rule = rules.queue(name)
        assert rule is not None, f"the demo calls {name!r}, which has no rule"
        if rule.hours is None:
            continue
        calendar = Calendar(rule.hours)
        for quarter in range(4 * 24 * 7):
            state = calendar.state_at(start + quarter * 900)
            assert state.is_open, f"{name}: {state.reason}"


def test_the_example_shows_what_an_engineer_needs_to_learn() -> None:
    rules = _example()
    queues = rules.queues
    assert len({q.strategy for q in queues}) >= 4
    steps = [s for q in queues for s in q.steps]
    assert any(s.min_proficiency is not None for s in steps)
    assert any(s.also_skills for s in steps)
    assert any(Location.HOME in s.add_locations for s in steps)
    assert any(q.partner is not None for q in queues)
    assert any(q.known_agent is not None for q in queues)
    assert any(q.overflow is not None and q.overflow.kind == "queue" for q in queues)
    assert any(q.overflow is not None and q.overflow.kind == "voicemail" for q in queues)
    assert any(q.hours is not None and q.hours.holidays_country for q in queues)
