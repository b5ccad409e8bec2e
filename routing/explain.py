"""Why the router did what it did, in a form a supervisor can read.

Every decision carries one: the trigger, the queue and the bullseye step in
force, how the caller's priority was made up, the strategy, and the candidates
weighed (the chosen one and the runners-up) with the reason for each. Built from
what the router looked at anyway, so explaining never costs a second search.

Deciding happens far more often than anyone reads why (a supervisor opens one
call, the router decides thousands a second), so the router hands over the
facts it weighed, all of them immutable values taken at the moment of the
decision, and the words are put together the first time someone reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Trigger = Literal[
    "call arrived",
    "agent ready",
    "offer failed",
    "step reached",
    "known agent window over",
    "queue load",
    "agent away",
    "rules changed",
    "max wait",
    "closed",
]


@dataclass(frozen=True, slots=True)
class PriorityBreakdown:
    """A caller's priority at the moment of the decision, term by term."""

    tier: str | None
    tier_points: int
    value_points: int
    queue_points: int
    aging_points: float

    @property
    def total(self) -> float:
        return self.tier_points + self.value_points + self.queue_points + self.aging_points

    def describe(self) -> str:
        parts = []
        if self.tier_points:
            parts.append(f"{self.tier} {self.tier_points}")
        if self.value_points:
            parts.append(f"value {self.value_points}")
        if self.queue_points:
            parts.append(f"queue {self.queue_points}")
        parts.append(f"waited {self.aging_points:.0f}")
        return f"priority {self.total:.0f} ({' + '.join(parts)})"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agent (for a call) or one call (for an agent) that was weighed."""

    kind: Literal["agent", "call"]
    id: str
    chosen: bool
    why: str


class Explanation:
    """Why one decision was taken. ``priority`` and ``candidates`` may be given
    as values or as functions of the facts captured at decision time; each is
    computed once, when first read."""

    __slots__ = (
        "_candidates",
        "_candidates_of",
        "_priority",
        "_priority_of",
        "notes",
        "queue",
        "step",
        "strategy",
        "trigger",
    )

    def __init__(
        self,
        trigger: Trigger,
        queue: str,
        #: the bullseye step in force ("initial", "after 30 s: ...")
        step: str,
        strategy: str,
        priority: PriorityBreakdown | None = None,
        candidates: tuple[Candidate, ...] = (),
        #: anything else that decided it (known agent, partner gate, hours)
        notes: tuple[str, ...] = (),
        *,
        priority_of: Callable[[], PriorityBreakdown] | None = None,
        candidates_of: Callable[[], tuple[Candidate, ...]] | None = None,
    ) -> None:
        self.trigger = trigger
        self.queue = queue
        self.step = step
        self.strategy = strategy
        self.notes = notes
        self._priority = priority
        self._priority_of = priority_of
        self._candidates = candidates
        self._candidates_of = candidates_of

    @property
    def priority(self) -> PriorityBreakdown | None:
        if self._priority_of is not None:
            self._priority, self._priority_of = self._priority_of(), None
        return self._priority

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        if self._candidates_of is not None:
            self._candidates, self._candidates_of = self._candidates_of(), None
        return self._candidates

    def __repr__(self) -> str:
        return f"Explanation({self.summary()!r})"

    def summary(self) -> str:
        """One line for an agent's pop or a supervisor's table."""
        chosen = next((c for c in self.candidates if c.chosen), None)
        head = chosen.why if chosen else self.trigger
        parts = [head, f"queue {self.queue}", f"step {self.step}"]
        priority = self.priority
        if priority is not None:
            parts.append(priority.describe())
        parts.extend(self.notes)
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        priority = self.priority
        return {
            "trigger": self.trigger,
            "queue": self.queue,
            "step": self.step,
            "strategy": self.strategy,
            "priority": None
            if priority is None
            else {
                "tier": priority.tier,
                "tier_points": priority.tier_points,
                "value_points": priority.value_points,
                "queue_points": priority.queue_points,
                "aging_points": round(priority.aging_points, 1),
                "total": round(priority.total, 1),
            },
            "candidates": [
                {"kind": c.kind, "id": c.id, "chosen": c.chosen, "why": c.why}
                for c in self.candidates
            ],
            "notes": list(self.notes),
            "summary": self.summary(),
        }
