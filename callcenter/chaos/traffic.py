"""Sustained, seeded callers on the PBX simulator while a fault is injected.

Why a generator of its own and not ``pbxsim.traffic``: the chaos scenarios need
traffic that runs *until the fault is over* (however long the fault takes on a
busy machine), not a plan of fixed length, and they need the list of every
Linkedid placed as the ground truth the invariants are checked against. The
draws (queue, number, patience, talk time) come from one seeded RNG, so a seed
names the same callers in the same order on every run.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from callcenter.pbxsim.server import PbxSimulator


@dataclass
class Traffic:
    """Places a caller every ``interval_s`` until ``stop`` is called."""

    simulator: PbxSimulator
    queues: Sequence[str]
    seed: int
    interval_s: float = 0.05
    patience_s: tuple[float, float] = (3.0, 12.0)
    talk_s: tuple[float, float] = (0.1, 0.6)
    #: every Linkedid placed, in order
    placed: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="chaos-traffic")

    async def stop(self) -> list[str]:
        """No more callers from now on; returns every Linkedid placed."""
        self._stop.set()
        if self._task is not None:
            await self._task
        return self.placed

    async def _run(self) -> None:
        rng = random.Random(self.seed)
        while not self._stop.is_set():
            self.placed.append(
                self.simulator.place_call(
                    queue=rng.choice(list(self.queues)),
                    caller_number=f"+1202555{rng.randrange(10000):04d}",
                    patience_s=rng.uniform(*self.patience_s),
                    talk_s=rng.uniform(*self.talk_s),
                )
            )
            await asyncio.sleep(self.interval_s)
