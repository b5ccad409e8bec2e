"""Traffic scenarios: who calls, how often, how patient, and how the agents' phones
behave, read from a TOML file (``config/scenarios/*.toml``).

Why a file of its own rather than more settings: a scenario is an experiment
(a quiet morning, a peak, a day with flaky phones) that is chosen as a whole and
replayed with the same seed, while settings say where the service runs.

Every duration is in *scenario* seconds; ``time_scale`` multiplies all of them
when the scenario is played (0.01 plays a 10-minute day in 6 s), so the same
file serves the demo and the tests. Validation errors name the field and the
reason, e.g. ``demo.toml: agents.0.busy: Input should be less than or equal to 1``.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import random
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callcenter.pbxsim.phones import PhoneBehaviour

#: the key of ``[arrivals]`` that spreads a rate evenly over every queue
ALL_QUEUES = "*"


class ScenarioError(ValueError):
    """A scenario that cannot be played; the message names the file, field and reason."""


class _Strict(BaseModel):
    # A typo in a scenario (``patiense``) must fail loudly, not fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fixed(_Strict):
    """Always ``mean`` (what a plain number in the file means)."""

    dist: Literal["fixed"] = "fixed"
    mean: float = Field(ge=0)

    def draw(self, rng: random.Random) -> float:
        return self.mean


class Exponential(_Strict):
    """Memoryless: many short values, a few long ones (patience, wrap-up)."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean)


class Uniform(_Strict):
    """Anything between ``low`` and ``high``, equally likely."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must not be below low")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


class LogNormal(_Strict):
    """Right-skewed, never negative: how talk times are really spread. Given by its
    own mean and standard deviation (not those of the underlying normal), because
    those are the figures a call-center report shows."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(gt=0)

    def draw(self, rng: random.Random) -> float:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return rng.lognormvariate(math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2))


Distribution = Annotated[Fixed | Exponential | Uniform | LogNormal, Field(discriminator="dist")]


def _number_is_fixed(value: Any) -> Any:
    """``patience = 90`` in the file means a fixed 90 s."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "mean": value}
    return value


def fixed(seconds: float) -> Fixed:
    return Fixed(mean=seconds)


class AgentGroup(_Strict):
    """How the phones of some agents behave. An agent belongs to the first group
    whose ``match`` (a glob on the dial string) and ``simulated`` both fit; a group
    that sets neither takes everyone left.

    The shares are per offer: each time a phone of the group is rung, it is
    unregistered, busy or never answers with these probabilities, and otherwise
    answers after a drawn delay (and, with ``hangup_first``, hangs up before the
    caller does, after ``agent_talk``).
    """

    name: str = ""
    #: glob on the dial string, e.g. ``PJSIP/agent0*``
    match: str | None = None
    #: only the agents the simulator plays (true) or those meant for people (false)
    simulated: bool | None = None
    #: phones of the scenario's own, used when the database has no agents
    #: (``callcenter simulate`` and the benchmark): ``<dial_prefix><n:04d>``
    count: int = Field(default=0, ge=0, le=100_000)
    dial_prefix: str = Field(default="PJSIP/sim", pattern=r"^(PJSIP|SIP|IAX2|Local)/[\w.@+-]*$")
    answer_delay: Distribution = Fixed(mean=2.0)
    never_answer: float = Field(default=0.0, ge=0, le=1)
    busy: float = Field(default=0.0, ge=0, le=1)
    unregistered: float = Field(default=0.0, ge=0, le=1)
    hangup_first: float = Field(default=0.0, ge=0, le=1)
    #: how long an agent who hangs up first talks
    agent_talk: Distribution = Fixed(mean=30.0)
    #: after each conversation the agent stays Not Ready this long, then presses Ready
    wrap_up: Distribution = Fixed(mean=0.0)

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("answer_delay", "agent_talk", "wrap_up"):
                if key in data:
                    data = {**data, key: _number_is_fixed(data[key])}
        return data

    @model_validator(mode="after")
    def _shares(self) -> AgentGroup:
        if self.never_answer + self.busy + self.unregistered > 1:
            raise ValueError("never_answer + busy + unregistered must not exceed 1")
        return self

    def matches(self, dial_string: str, simulated: bool) -> bool:
        if self.simulated is not None and self.simulated != simulated:
            return False
        return self.match is None or fnmatch.fnmatchcase(dial_string, self.match)

    def own_dial_strings(self) -> list[str]:
        return [f"{self.dial_prefix}{n:04d}" for n in range(1, self.count + 1)]

    def draw_behaviour(self, rng: random.Random, time_scale: float) -> PhoneBehaviour:
        """How the phone answers its next offer (durations already scaled)."""
        u = rng.random()
        if u < self.unregistered:
            return PhoneBehaviour(registered=False)
        u -= self.unregistered
        if u < self.busy:
            return PhoneBehaviour(busy=True)
        u -= self.busy
        if u < self.never_answer:
            return PhoneBehaviour(answer_after_s=None)
        delay = self.answer_delay.draw(rng) * time_scale
        hangup_after: float | None = None
        if self.hangup_first and rng.random() < self.hangup_first:
            hangup_after = self.agent_talk.draw(rng) * time_scale
        return PhoneBehaviour(answer_after_s=delay, hangup_after_s=hangup_after)


Score = Literal["1", "2", "3", "4", "5"]
#: mostly satisfied callers, as surveys usually read
_USUAL_SCORES: dict[Score, float] = {"5": 5.0, "4": 3.0, "3": 1.0, "2": 0.5, "1": 0.5}


class Survey(_Strict):
    """How simulated callers answer the post-call survey (a queue with
    ``survey`` asks them once the agent hangs up): ``answer_share`` key a score,
    drawn by ``scores`` (key -> weight); the others hang up instead."""

    answer_share: float = Field(default=0.0, ge=0, le=1)
    scores: dict[Score, float] = Field(default_factory=lambda: dict(_USUAL_SCORES))

    @model_validator(mode="after")
    def _weights(self) -> Survey:
        if any(weight < 0 for weight in self.scores.values()) or not any(self.scores.values()):
            raise ValueError("scores: weights must be >= 0, at least one above 0")
        return self

    def draw(self, rng: random.Random) -> str | None:
        """The key the caller presses, or None (hangs up)."""
        if rng.random() >= self.answer_share:
            return None
        keys = sorted(self.scores)
        return rng.choices(keys, [self.scores[k] for k in keys])[0]


class LoadPhase(_Strict):
    """From the previous phase's end until ``until_s``, arrivals run at ``factor``
    times the ``[arrivals]`` rates (a day's morning, peak, lull)."""

    until_s: float = Field(gt=0)
    factor: float = Field(ge=0)


class Scenario(_Strict):
    name: str = ""
    description: str = ""
    #: the same seed plays the same calls (arrivals, queues, numbers, patience, talk)
    seed: int | None = None
    #: seconds of arrivals; None: callers keep coming until stopped
    duration_s: float | None = Field(default=None, gt=0)
    #: multiplies every duration when played (0.01: 100 times faster than life)
    time_scale: float = Field(default=1.0, gt=0, le=100)
    #: calls per hour, by queue name; ``"*"`` spreads its rate over every queue
    arrivals: dict[str, float] = Field(min_length=1)
    #: optional piecewise-constant load over the run (factor 1 after the last phase)
    load: list[LoadPhase] = Field(default_factory=list)
    #: how long a caller waits unanswered before hanging up
    patience: Distribution = Fixed(mean=90.0)
    #: how long the caller talks once connected (then hangs up)
    talk: Distribution = Fixed(mean=60.0)
    #: share of known customers who type their account number before queueing
    account_share: float = Field(default=0.0, ge=0, le=1)
    #: share of callers whose number is not in the CRM ("new contact" pops)
    unknown_share: float = Field(default=0.0, ge=0, le=1)
    #: after a missed offer, how long a simulated agent waits before pressing Ready
    ready_pause_s: float = Field(default=3.0, ge=0)
    agents: list[AgentGroup] = Field(default_factory=list)
    #: how callers answer a queue's post-call survey (default: they hang up)
    survey: Survey = Field(default_factory=Survey)

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("patience", "talk"):
                if key in data:
                    data = {**data, key: _number_is_fixed(data[key])}
        return data

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        for queue, rate in self.arrivals.items():
            if not rate >= 0:
                raise ValueError(f"arrivals.{queue}: calls per hour must be >= 0 (got {rate})")
        if not any(self.arrivals.values()):
            raise ValueError("arrivals: at least one queue needs calls (a rate above 0)")
        ends = [phase.until_s for phase in self.load]
        if any(b <= a for a, b in itertools.pairwise(ends)):
            raise ValueError("load: each phase's until_s must be after the previous one")
        return self

    # -- derived --------------------------------------------------------------

    def rates_per_s(self, queues: list[str]) -> dict[str, float]:
        """Calls per second by queue, ``"*"`` spread over ``queues``; a named queue
        that is not among ``queues`` is an error (it has no DID to dial)."""
        unknown = sorted(q for q in self.arrivals if q != ALL_QUEUES and q not in queues)
        if unknown:
            raise ScenarioError(
                f"arrivals: no such queue {', '.join(unknown)} (queues: {', '.join(queues)})"
            )
        rates = {q: 0.0 for q in queues}
        spread = self.arrivals.get(ALL_QUEUES, 0.0)
        for queue in queues:
            rates[queue] = (self.arrivals.get(queue, 0.0) + spread / len(queues)) / 3600
        return {q: r for q, r in rates.items() if r > 0}

    def load_at(self, t_s: float) -> tuple[float, float]:
        """(rate factor, end of its phase) at scenario time ``t_s``."""
        for phase in self.load:
            if t_s < phase.until_s:
                return phase.factor, phase.until_s
        return 1.0, math.inf

    def group_for(self, dial_string: str, simulated: bool) -> AgentGroup:
        """The first group that fits; agents no group fits get a plain phone that
        answers after 2 s (the demo's old default)."""
        for group in self.agents:
            if group.matches(dial_string, simulated):
                return group
        return AgentGroup(name="default")

    def own_phones(self) -> list[tuple[str, AgentGroup]]:
        """The scenario's own phones (groups with ``count``), for a PBX with no
        agents in the database."""
        return [(dial, g) for g in self.agents for dial in g.own_dial_strings()]

    def with_changes(self, **changes: Any) -> Scenario:
        """A validated copy (``model_copy`` would skip validation)."""
        return Scenario.model_validate({**self.model_dump(), **changes})


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; ScenarioError says what is wrong where."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {describe(exc)}") from exc


def describe(exc: ValidationError) -> str:
    """One ``field: reason`` per problem, without pydantic's URLs and input dumps."""
    problems = []
    for error in exc.errors():
        # Drop the discriminator tags pydantic puts in the path (``.lognormal.``).
        where = ".".join(
            str(part)
            for part in error["loc"]
            if part not in ("fixed", "exponential", "uniform", "lognormal")
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
