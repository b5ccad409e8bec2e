"""Simulated customers calling in, at random like real arrivals."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from callcenter.pbxsim.server import PbxSimulator


class CallerGenerator:
    """Places calls at exponential intervals (a Poisson arrival process), each with
    a patience and a talk time drawn around their means."""

    def __init__(
        self,
        sim: PbxSimulator,
        *,
        numbers: Sequence[tuple[str, str]],
        queues: Sequence[str],
        interval_s: float,
        patience_s: float,
        talk_time_s: float,
        rng: random.Random,
    ) -> None:
        if not numbers or not queues:
            raise ValueError("a caller generator needs numbers and queues")
        self._sim = sim
        self._numbers = list(numbers)
        self._queues = list(queues)
        self._interval_s = interval_s
        self._patience_s = patience_s
        self._talk_time_s = talk_time_s
        self._rng = rng
        self.placed = 0

    def place_one(self) -> str:
        number, name = self._rng.choice(self._numbers)
        self.placed += 1
        return self._sim.place_call(
            queue=self._rng.choice(self._queues),
            caller_number=number,
            caller_name=name,
            patience_s=self._rng.uniform(0.5, 1.5) * self._patience_s,
            talk_s=self._rng.uniform(0.5, 1.5) * self._talk_time_s,
        )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._rng.expovariate(1.0 / self._interval_s))
            self.place_one()
