"""Why the router did what it did, in a form a supervisor can read.

Every decision carries one: the trigger, the queue and the bullseye step in
force, how the caller's priority was made up, the strategy, and the candidates
weighed (the chosen one and the runners-up) with the reason for each. Built from
what the router looked at anyway, so explaining costs a few small objects and
never a second search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True)
class Explanation:
    trigger: Trigger
    queue: str
    #: the bullseye step in force ("initial", "after 30 s: ...")
    step: str
    strategy: str
    priority: PriorityBreakdown | None = None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    #: anything else that decided it (known agent, partner gate, hours)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One line for an agent's pop or a supervisor's table."""
        chosen = next((c for c in self.candidates if c.chosen), None)
        head = chosen.why if chosen else self.trigger
        parts = [head, f"queue {self.queue}", f"step {self.step}"]
        if self.priority is not None:
            parts.append(self.priority.describe())
        parts.extend(self.notes)
        return "; ".join(parts)

    def as_json(self) -> dict[str, object]:
        return {
            "trigger": self.trigger,
            "queue": self.queue,
            "step": self.step,
            "strategy": self.strategy,
            "priority": None
            if self.priority is None
            else {
                "tier": self.priority.tier,
                "tier_points": self.priority.tier_points,
                "value_points": self.priority.value_points,
                "queue_points": self.priority.queue_points,
                "aging_points": round(self.priority.aging_points, 1),
                "total": round(self.priority.total, 1),
            },
            "candidates": [
                {"kind": c.kind, "id": c.id, "chosen": c.chosen, "why": c.why}
                for c in self.candidates
            ],
            "notes": list(self.notes),
            "summary": self.summary(),
        }
