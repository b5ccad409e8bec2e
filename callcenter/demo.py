"""The embedded demo: the simulator plays customers and most agents, as a scenario
(``config/scenarios/*.toml``, see ``callcenter.pbxsim.scenario``) says.

Simulated agents behave like people at a desk: after a conversation they stay Not
Ready for a drawn wrap-up time, after a missed offer they take a short pause, then
they press Ready again. The agents meant for a person (``simulated = False`` in
the database) are left alone: they press Ready in the browser. Their phones are
simulated too (a softphone that auto-answers after a few seconds), so a person
sees the pop while the phone rings, then talks.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from sqlalchemy import select

from agents import AgentProfile, AgentState
from callcenter.db.directory import QueueInfo, load_agents, load_queues, simulated_agents
from callcenter.db.models import Customer, PhoneNumber
from callcenter.db.session import Sessions
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.pbxsim import PbxSimulator
from callcenter.pbxsim.scenario import (
    AgentGroup,
    Scenario,
    ScenarioError,
    Uniform,
    fixed,
    load_scenario,
)
from callcenter.pbxsim.traffic import CallerGenerator, PhonePlan
from callcenter.settings import PbxSettings, SimulatorSettings

log = structlog.get_logger(__name__)

#: Unknown numbers mixed into the demo callers, so "new contact" pops appear too.
UNKNOWN_CALLERS = [("+12025550147", ""), ("+447700900123", ""), ("+33612345678", "")]
#: how many CRM numbers the simulated callers dial from
CALLER_NUMBERS = 500
#: the Not Ready reason simulated agents give while wrapping up a call
WRAP_UP = "wrap-up"


@dataclass(frozen=True, slots=True)
class Directory:
    """Who works here and which queues exist, read once at start-up."""

    agents: list[AgentProfile]
    queues: list[QueueInfo]
    #: agents the simulator plays (the others are for people)
    simulated_ids: frozenset[int]
    #: (E.164, name) of demo customers, for simulated callers
    caller_numbers: list[tuple[str, str]]
    #: E.164 -> an account number of a customer with that number (some callers type it)
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def dids(self) -> dict[str, str]:
        return {q.did: q.name for q in self.queues if q.did}


async def load_directory(sessions: Sessions) -> Directory:
    numbers, accounts = await _caller_numbers(sessions)
    return Directory(
        agents=await load_agents(sessions),
        queues=await load_queues(sessions),
        simulated_ids=frozenset(a.agent_id for a in await simulated_agents(sessions)),
        caller_numbers=numbers,
        accounts=accounts,
    )


async def _caller_numbers(
    sessions: Sessions, limit: int = CALLER_NUMBERS
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(E.164, name) of CRM customers, and one account number per E.164."""
    async with sessions() as session:
        rows = await session.execute(
            select(PhoneNumber.e164, Customer.name, Customer.account_number)
            .join(Customer, Customer.id == PhoneNumber.customer_id)
            .order_by(PhoneNumber.id)
            .limit(limit)
        )
        numbers: list[tuple[str, str]] = []
        accounts: dict[str, str] = {}
        for e164, name, account in rows:
            numbers.append((e164, name))
            accounts.setdefault(e164, account)
        return numbers, accounts


# -- the scenario -------------------------------------------------------------


def legacy_scenario(sim: SimulatorSettings) -> Scenario:
    """The demo as the one-number settings describe it (no scenario file)."""
    return Scenario(
        name="settings",
        arrivals={"*": 3600 / sim.call_interval_s},
        patience=Uniform.model_validate(_around(sim.patience_s)),
        talk=Uniform.model_validate(_around(sim.talk_time_s)),
        agents=[
            AgentGroup(name="simulated", simulated=True, answer_delay=fixed(sim.answer_delay_s)),
            AgentGroup(
                name="people", simulated=False, answer_delay=fixed(sim.person_answer_delay_s)
            ),
        ],
    )


def resolve_scenario(sim: SimulatorSettings) -> Scenario:
    """The scenario file, with the settings that were set explicitly on top.

    An explicit ``answer_delay_s`` / ``person_answer_delay_s`` keeps its old
    meaning (those phones always answer after exactly that long), so code and
    tests written against the one-number settings behave as before."""
    base = legacy_scenario(sim) if sim.scenario is None else load_scenario(sim.scenario)
    explicit = sim.model_fields_set if sim.scenario is not None else set()
    changes: dict[str, object] = {}
    if "call_interval_s" in explicit:
        factor = (3600 / sim.call_interval_s) / sum(base.arrivals.values())
        changes["arrivals"] = {q: rate * factor for q, rate in base.arrivals.items()}
    if "patience_s" in explicit:
        changes["patience"] = {
            "dist": "uniform",
            "low": sim.patience_s / 2,
            "high": sim.patience_s * 1.5,
        }
    if "talk_time_s" in explicit:
        changes["talk"] = {
            "dist": "uniform",
            "low": sim.talk_time_s / 2,
            "high": sim.talk_time_s * 1.5,
        }
    pinned: list[dict[str, object]] = []
    if "answer_delay_s" in explicit:
        pinned.append(_pinned(simulated=True, answer_delay_s=sim.answer_delay_s))
    if "person_answer_delay_s" in explicit:
        pinned.append(
            {"name": "settings", "simulated": False, "answer_delay": sim.person_answer_delay_s}
        )
    if pinned:
        changes["agents"] = [*pinned, *(g.model_dump() for g in base.agents)]
    if sim.seed is not None:
        changes["seed"] = sim.seed
    if sim.time_scale is not None:
        changes["time_scale"] = sim.time_scale
    return base.with_changes(**changes) if changes else base


def _around(mean_s: float) -> dict[str, object]:
    """The old settings' spread: half to one and a half times the mean."""
    return {"dist": "uniform", "low": mean_s / 2, "high": mean_s * 1.5}


def _pinned(*, simulated: bool, answer_delay_s: float) -> dict[str, object]:
    """A group that always answers after exactly ``answer_delay_s``, ahead of the
    scenario's own (so it wins)."""
    return {"name": "settings", "simulated": simulated, "answer_delay": answer_delay_s}


class DemoSimulator(PbxSimulator):
    """The simulator plus what the demo built it from: the scenario, its seed, the
    phones' plan and (once ``build_callers`` ran) the callers."""

    def __init__(
        self,
        pbx: PbxSettings,
        scenario: Scenario,
        *,
        seed: int,
        dids: dict[str, str],
        recordings_dir: Path | None = None,
    ) -> None:
        super().__init__(
            system_name=pbx.name,
            host=pbx.host,
            port=pbx.port,
            users={pbx.username: pbx.secret.get_secret_value()},
            dids=dids,
            seed=seed,
            recordings_dir=recordings_dir,
        )
        self.scenario = scenario
        self.seed = seed
        self.queues = sorted(dids.values())
        self.phones = PhonePlan(self, seed=seed, time_scale=scenario.time_scale)
        #: agent id -> dial string, for the agents whose phones the plan draws
        self.dial_of_agent: dict[int, str] = {}
        self.callers: CallerGenerator | None = None


def _seed(scenario: Scenario) -> int:
    if scenario.seed is not None:
        return scenario.seed
    seed = random.SystemRandom().randrange(2**32)
    log.info("scenario has no seed: drew one (set it to replay this traffic)", seed=seed)
    return seed


def build_simulator(
    pbx: PbxSettings,
    sim: SimulatorSettings,
    directory: Directory,
    *,
    standalone: bool = False,
    recordings_dir: Path | None = None,
) -> DemoSimulator:
    """The simulator with a phone for every agent in the database.

    ``standalone`` (``callcenter simulate``): when the database has no agents or
    no queues, the scenario's own phones (groups with ``count``) and queues (its
    named arrivals, DIDs 100, 200, ...) stand in. ``recordings_dir``: where its
    MixMonitor writes WAV files (``PbxSimulator``); None writes none."""
    scenario = resolve_scenario(sim)
    dids = directory.dids
    if standalone and not dids:
        named = sorted(q for q in scenario.arrivals if q != "*")
        if not named:
            raise ScenarioError("the database has no queues and the scenario names none")
        dids = {str(100 * (n + 1)): queue for n, queue in enumerate(named)}
    simulator = DemoSimulator(
        pbx, scenario, seed=_seed(scenario), dids=dids, recordings_dir=recordings_dir
    )
    for agent in directory.agents:
        simulated = agent.agent_id in directory.simulated_ids
        simulator.phones.add(agent.dial_string, scenario.group_for(agent.dial_string, simulated))
        simulator.dial_of_agent[agent.agent_id] = agent.dial_string
    if standalone and not directory.agents:
        for dial_string, group in scenario.own_phones():
            simulator.phones.add(dial_string, group)
    return simulator


def build_callers(
    simulator: PbxSimulator,
    sim: SimulatorSettings,
    directory: Directory,
) -> CallerGenerator | None:
    """Simulated customers, or None when there is no queue to call (unseeded)."""
    if isinstance(simulator, DemoSimulator):
        scenario, seed, queues = simulator.scenario, simulator.seed, simulator.queues
    else:
        scenario = resolve_scenario(sim)
        seed, queues = _seed(scenario), sorted(directory.dids.values())
    if not queues:
        log.warning("no queues in the database: run `callcenter seed` for the demo")
        return None
    numbers = directory.caller_numbers or UNKNOWN_CALLERS
    if directory.caller_numbers and not scenario.unknown_share:
        numbers = [*directory.caller_numbers, *UNKNOWN_CALLERS]
    callers = CallerGenerator(
        simulator,
        scenario,
        queues=queues,
        numbers=numbers,
        accounts=directory.accounts,
        seed=seed,
    )
    if isinstance(simulator, DemoSimulator):
        simulator.callers = callers
    return callers


# -- simulated agents ---------------------------------------------------------


class SimulatedDesk:
    """What the simulated agents do between calls, one ``step`` at a time.

    Why wrap-up is asked for during the call: the orchestrator puts an agent back
    to Ready the moment a call ends (and may offer the next call at once), unless
    the agent asked for another state during the call. So a simulated agent asks
    for Not Ready ("wrap-up") as soon as it is offered a call, and presses Ready
    once its drawn wrap-up time is over. Every state change also redraws how the
    agent's phone answers the next offer.
    """

    def __init__(
        self,
        orchestrator: Orchestrator,
        simulated_ids: frozenset[int],
        simulator: DemoSimulator | None,
        *,
        pause_s: float,
        seed: int,
    ) -> None:
        self._orchestrator = orchestrator
        self._simulated = simulated_ids
        self._simulator = simulator
        self._pause_s = pause_s
        self._scale = simulator.scenario.time_scale if simulator else 1.0
        self._rng = random.Random(f"{seed}:wrap-up")
        watched = set(simulator.dial_of_agent) if simulator else set()
        self._agents = sorted(watched | simulated_ids)
        self._seen: dict[int, tuple[AgentState, float]] = {}
        self._talked: set[int] = set()
        #: agent -> (since of the Not Ready episode, when to press Ready)
        self._ready_at: dict[int, tuple[float, float]] = {}

    def _group(self, agent_id: int) -> AgentGroup | None:
        if self._simulator is None:
            return None
        dial = self._simulator.dial_of_agent.get(agent_id)
        return self._simulator.phones.group(dial) if dial else None

    async def step(self, now: float) -> None:
        for agent_id in self._agents:
            try:
                await self._step_agent(agent_id, now)
            except Exception:
                log.exception("demo agent could not go ready", agent_id=agent_id)

    async def _step_agent(self, agent_id: int, now: float) -> None:
        view = self._orchestrator.agent_view(agent_id)
        if self._seen.get(agent_id) != (view.state, view.since):
            self._seen[agent_id] = (view.state, view.since)
            if self._simulator is not None and agent_id in self._simulator.dial_of_agent:
                self._simulator.phones.redraw(self._simulator.dial_of_agent[agent_id])
        if agent_id not in self._simulated:
            return
        group = self._group(agent_id)
        if view.state in (AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL):
            if view.state is AgentState.ON_CALL:
                self._talked.add(agent_id)
            wraps_up = group is not None and group.wrap_up.mean > 0
            if wraps_up and view.pending is None:
                await self._orchestrator.set_agent_state(agent_id, AgentState.NOT_READY, WRAP_UP)
            return
        if view.state not in (AgentState.NOT_READY, AgentState.LOGGED_OUT):
            # Ready, or in the queue's wrap-up (which ends by itself)
            self._ready_at.pop(agent_id, None)
            return
        planned = self._ready_at.get(agent_id)
        if planned is None or planned[0] != view.since:
            if view.reason == WRAP_UP:
                talked = agent_id in self._talked and group is not None
                wrap = group.wrap_up.draw(self._rng) * self._scale if talked and group else 0.0
                due = view.since + wrap
            else:
                due = view.since + self._pause_s
            self._talked.discard(agent_id)
            planned = (view.since, due)
            self._ready_at[agent_id] = planned
        if now >= planned[1]:
            del self._ready_at[agent_id]
            await self._orchestrator.set_agent_state(agent_id, AgentState.READY)


async def keep_simulated_agents_ready(
    orchestrator: Orchestrator,
    simulated_ids: frozenset[int],
    simulator: DemoSimulator | None = None,
    *,
    pause_s: float | None = None,
    tick_s: float | None = None,
) -> None:
    """Play the simulated agents: Ready after a pause, Not Ready for wrap-up.

    ``simulator`` gives the scenario (wrap-up, pause, time scale) and the phones
    to redraw; without one, agents press Ready again after plain 3 s pauses."""
    scenario = simulator.scenario if simulator is not None else None
    scale = scenario.time_scale if scenario is not None else 1.0
    if pause_s is None:
        pause_s = (scenario.ready_pause_s if scenario is not None else 3.0) * scale
    if tick_s is None:
        # Often enough to see a short call's ringing, rarely enough to cost nothing.
        tick_s = min(1.0, max(0.005, 0.25 * scale))
    desk = SimulatedDesk(
        orchestrator,
        simulated_ids,
        simulator,
        pause_s=pause_s,
        seed=simulator.seed if simulator is not None else 0,
    )
    while True:
        await desk.step(time.time())
        await asyncio.sleep(tick_s)
