"""Simulated customers calling in, and how the agents' phones answer them.

Why the calls are planned before they are placed: "same seed, same traffic" has
to hold however fast the machine is. ``plan_calls`` draws every arrival time,
queue, number, account, patience and talk time from one seeded RNG, in scenario
time, without looking at a clock; ``CallerGenerator.run`` only replays that plan
against the loop's clock. What the ACD does with the calls (which agent, when) is
timing and may differ between runs; the offered traffic does not.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import structlog

from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.pbxsim.scenario import AgentGroup, Scenario
from callcenter.pbxsim.server import PbxSimulator

log = structlog.get_logger(__name__)

#: how many placed calls a generator remembers (tests and the benchmark read them)
PLACED_LOG = 100_000


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One customer, in scenario seconds (``time_scale`` is applied when placed)."""

    at_s: float
    queue: str
    caller_number: str
    caller_name: str
    account: str
    patience_s: float
    talk_s: float


@dataclass(frozen=True, slots=True)
class PlacedCall:
    linkedid: str
    call: PlannedCall


def unknown_number(rng: random.Random) -> str:
    """A number that is in no CRM: the fictional +1 202 555 01xx range, widened."""
    return f"+1202555{rng.randrange(10_000):04d}"


def plan_calls(
    scenario: Scenario,
    *,
    queues: Sequence[str],
    numbers: Sequence[tuple[str, str]],
    accounts: Mapping[str, str] | None = None,
    rng: random.Random,
) -> Iterator[PlannedCall]:
    """The scenario's calls in arrival order: Poisson arrivals per queue.

    The queues' independent Poisson processes are drawn as their sum (one
    exponential gap at the total rate, then a queue picked in proportion to its
    rate), which is the same process and needs one draw sequence, so a seed
    fixes it. A load phase's end restarts the gap at the new rate (exact for a
    memoryless process). Endless when the scenario has no duration.
    """
    rates = scenario.rates_per_s(list(queues))
    names = sorted(rates)
    weights = [rates[q] for q in names]
    total = sum(weights)
    accounts = accounts or {}
    end = scenario.duration_s
    t = 0.0
    while end is None or t < end:
        factor, phase_end = scenario.load_at(t)
        if factor <= 0:
            if phase_end == float("inf"):
                return
            t = phase_end
            continue
        gap = rng.expovariate(total * factor)
        if t + gap >= phase_end:
            t = phase_end
            continue
        t += gap
        if end is not None and t >= end:
            return
        queue = names[0] if len(names) == 1 else rng.choices(names, weights)[0]
        if not numbers or rng.random() < scenario.unknown_share:
            number, name = unknown_number(rng), ""
        else:
            number, name = numbers[rng.randrange(len(numbers))]
        account = accounts.get(number, "")
        if not (account and rng.random() < scenario.account_share):
            account = ""
        yield PlannedCall(
            at_s=t,
            queue=queue,
            caller_number=number,
            caller_name=name,
            account=account,
            patience_s=scenario.patience.draw(rng),
            talk_s=scenario.talk.draw(rng),
        )


class CallerGenerator:
    """Places a scenario's planned calls on the simulator, on time."""

    def __init__(
        self,
        sim: PbxSimulator,
        scenario: Scenario,
        *,
        queues: Sequence[str],
        numbers: Sequence[tuple[str, str]],
        accounts: Mapping[str, str] | None = None,
        seed: int,
    ) -> None:
        if not queues:
            raise ValueError("a caller generator needs queues")
        self._sim = sim
        self.scenario = scenario
        self._queues = list(queues)
        self._numbers = list(numbers)
        self._accounts = dict(accounts or {})
        self.seed = seed
        # Survey answers come from an RNG of their own: the plan's calls (and
        # every seed's replay of them) stay what they were without a survey.
        self._survey_rng = random.Random(f"survey-{seed}")
        self.placed: deque[PlacedCall] = deque(maxlen=PLACED_LOG)
        self.placed_count = 0
        #: set once the scenario's duration is over and its last call placed
        self.finished = asyncio.Event()
        # Fail now, not at the first call: every queue the plan uses needs a DID.
        scenario.rates_per_s(self._queues)

    def plan(self) -> Iterator[PlannedCall]:
        """The calls this generator places, from its own RNG (same seed, same list)."""
        return plan_calls(
            self.scenario,
            queues=self._queues,
            numbers=self._numbers,
            accounts=self._accounts,
            rng=random.Random(self.seed),
        )

    def place(self, call: PlannedCall) -> str:
        scale = self.scenario.time_scale
        linkedid = self._sim.place_call(
            queue=call.queue,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            account=call.account,
            patience_s=call.patience_s * scale,
            talk_s=call.talk_s * scale,
            survey_key=self.scenario.survey.draw(self._survey_rng),
        )
        self.placed.append(PlacedCall(linkedid, call))
        self.placed_count += 1
        return linkedid

    async def run(self) -> None:
        """Place each call at its (scaled) time after the start; returns when the
        scenario's duration is over (never, without one).

        Times are kept against the start, not as a chain of sleeps, so the rate
        does not drift when the loop is busy: a late call is placed at once."""
        loop = asyncio.get_running_loop()
        scale = self.scenario.time_scale
        started = loop.time()
        log.info(
            "simulated callers start",
            scenario=self.scenario.name,
            seed=self.seed,
            time_scale=scale,
        )
        for call in self.plan():
            await asyncio.sleep(max(0.0, started + call.at_s * scale - loop.time()))
            self.place(call)
        if self.scenario.duration_s is not None:
            await asyncio.sleep(max(0.0, started + self.scenario.duration_s * scale - loop.time()))
        log.info("simulated callers done", placed=self.placed_count)
        self.finished.set()


class PhonePlan:
    """Draws how each agent phone answers, offer after offer.

    Each phone has its own RNG (from the seed and its dial string), so one agent's
    offers do not shift another's draws. ``redraw`` is called after each offer
    (the simulated agents' loop does it when it sees the agent's state change);
    without it a phone keeps its first draw.
    """

    def __init__(self, sim: PbxSimulator, *, seed: int, time_scale: float) -> None:
        self._sim = sim
        self._seed = seed
        self._time_scale = time_scale
        self._groups: dict[str, AgentGroup] = {}
        self._rngs: dict[str, random.Random] = {}

    def add(self, dial_string: str, group: AgentGroup) -> None:
        self._groups[dial_string] = group
        self._rngs[dial_string] = random.Random(f"{self._seed}:{dial_string}")
        self._sim.add_phone(dial_string, self._draw(dial_string))

    def group(self, dial_string: str) -> AgentGroup | None:
        return self._groups.get(dial_string)

    def redraw(self, dial_string: str) -> None:
        if dial_string in self._groups:
            self._sim.set_phone_behaviour(dial_string, self._draw(dial_string))

    def __len__(self) -> int:
        return len(self._groups)

    def _draw(self, dial_string: str) -> PhoneBehaviour:
        group = self._groups[dial_string]
        return group.draw_behaviour(self._rngs[dial_string], self._time_scale)
