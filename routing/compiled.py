"""Rules turned into what matching needs: per queue, the steps as they apply.

A queue's bullseye steps are cumulative edits; here they become a list of
``Step``s, each complete (the skill alternatives and locations in force from its
``after_s`` on). A partner-overflow ``after_s`` becomes a step of its own, so
"partner agents after 120 s" is just another widening. Eligibility of an agent for
a step is a pure function of the agent's skills and location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from routing.hours import Calendar
from routing.rules import Location, QueueRule, RoutingRules, Strategy, Target

#: one way to qualify: every (skill, minimum proficiency) in it
Alternative = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Step:
    after_s: float
    alternatives: tuple[Alternative, ...]
    locations: frozenset[str]
    label: str

    def skilled(self, skills: Mapping[str, int]) -> bool:
        # plain loops: this runs for every queue an agent's skills touch
        for alt in self.alternatives:
            for skill, minimum in alt:
                if skills.get(skill, 0) < minimum:
                    break
            else:
                return True
        return False

    def proficiency(self, skills: Mapping[str, int]) -> int:
        """Best total proficiency over the alternatives the agent meets."""
        best = 0
        for alt in self.alternatives:
            if all(skills.get(s, 0) >= m for s, m in alt):
                best = max(best, sum(skills.get(s, 0) for s, _ in alt))
        return best


@dataclass(frozen=True, slots=True)
class CompiledQueue:
    name: str
    rule: QueueRule
    steps: tuple[Step, ...]
    strategy: Strategy
    #: the strategy's name, as explanations print it
    strategy_name: str
    #: queue-load partner gate: this many waiting opens it (None: never)
    partner_min_waiting: int | None
    calendar: Calendar | None
    max_wait_s: float | None
    overflow: Target | None
    known_wait_s: float | None
    known_within_s: float | None

    # Steps are compared in absolute time, ``entered_at + after_s`` against
    # ``now``, never ``now - entered_at`` against ``after_s``: a wake-up set for
    # that very sum must find the step reached, and ``(a + b) - a`` may round
    # below ``b`` (a replay then woke at the same instant forever).

    def step_at(self, entered_at: float, now: float) -> int:
        """The index of the last step reached by ``now`` for a call in since
        ``entered_at``."""
        index = 0
        for i, step in enumerate(self.steps):
            if entered_at + step.after_s <= now:
                index = i
        return index

    def next_step_at(self, entered_at: float, now: float) -> float | None:
        """When the next step not yet reached by ``now`` is (absolute time)."""
        for step in self.steps:
            at = entered_at + step.after_s
            if at > now:
                return at
        return None

    @property
    def skills(self) -> frozenset[str]:
        return frozenset(s for step in self.steps for alt in step.alternatives for s, _ in alt)


@dataclass(frozen=True, slots=True)
class CompiledRules:
    rules: RoutingRules
    queues: Mapping[str, CompiledQueue]
    #: location -> (preference, cost per minute)
    location_rank: Mapping[str, tuple[int, float]]
    #: skill -> queues whose some step asks for it
    queues_by_skill: Mapping[str, tuple[str, ...]]

    def rank(self, location: str) -> tuple[int, float]:
        return self.location_rank.get(location, (1000, 0.0))


def compile_rules(rules: RoutingRules) -> CompiledRules:
    queues = {q.name: _compile_queue(q) for q in rules.queues}
    by_skill: dict[str, list[str]] = {}
    for name, queue in sorted(queues.items()):
        for skill in sorted(queue.skills):
            by_skill.setdefault(skill, []).append(name)
    return CompiledRules(
        rules=rules,
        queues=queues,
        location_rank={r.location.value: (r.preference, r.cost_per_min) for r in rules.locations},
        queues_by_skill={skill: tuple(names) for skill, names in by_skill.items()},
    )


def _compile_queue(rule: QueueRule) -> CompiledQueue:
    required = dict(rule.skills)
    extra: list[Alternative] = []
    locations = {loc.value for loc in rule.locations}
    steps = [Step(0.0, (_alt(required),), frozenset(locations), "initial")]
    edits = sorted(
        [(s.after_s, s) for s in rule.steps]
        + ([(rule.partner.after_s, None)] if rule.partner and rule.partner.after_s else []),
        key=lambda pair: (pair[0], pair[1] is None),
    )
    for after_s, edit in edits:
        words: list[str] = []
        if edit is None:
            locations.add(Location.PARTNER.value)
            words.append("partner agents")
        else:
            if edit.min_proficiency is not None:
                required = {s: min(m, edit.min_proficiency) for s, m in required.items()}
                words.append(f"proficiency >= {edit.min_proficiency}")
            if edit.also_skills:
                extra.append(_alt(edit.also_skills))
                words.append("or " + ", ".join(f"{s} >= {m}" for s, m in edit.also_skills.items()))
            locations.update(loc.value for loc in edit.add_locations)
            if edit.add_locations:
                words.append("+ " + ", ".join(loc.value for loc in edit.add_locations))
        label = (edit.label if edit is not None and edit.label else "") or (
            f"after {after_s:g} s: {'; '.join(words) or 'no change'}"
        )
        alternatives = tuple(dict.fromkeys([_alt(required), *extra]))
        step = Step(after_s, alternatives, frozenset(locations), label)
        if steps[-1].after_s == after_s:
            steps[-1] = step
        else:
            steps.append(step)
    known = rule.known_agent
    return CompiledQueue(
        name=rule.name,
        rule=rule,
        steps=tuple(steps),
        strategy=rule.strategy,
        strategy_name=rule.strategy.value,
        partner_min_waiting=rule.partner.min_waiting if rule.partner else None,
        calendar=Calendar(rule.hours) if rule.hours else None,
        max_wait_s=rule.max_wait_s,
        overflow=rule.overflow,
        known_wait_s=known.wait_s if known else None,
        known_within_s=known.within_days * 86_400.0 if known else None,
    )


def _alt(skills: Mapping[str, int]) -> Alternative:
    return tuple(sorted(skills.items()))
