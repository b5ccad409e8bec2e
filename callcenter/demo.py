"""The embedded demo: the simulator plays customers and most agents.

Simulated agents behave like people at a desk: after a call or a missed offer
they take a short pause, then press Ready again. The agents meant for a person
(``simulated = False`` in the database) are left alone: they press Ready in the
browser. Their phones are simulated too (a softphone that auto-answers after a
few seconds), so a person sees the pop while the phone rings, then talks.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import structlog

from agents import AgentProfile, AgentState
from callcenter.db.directory import QueueInfo, load_agents, load_queues, simulated_agents
from callcenter.db.seed import demo_caller_numbers
from callcenter.db.session import Sessions
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.pbxsim import CallerGenerator, PbxSimulator, PhoneBehaviour
from callcenter.settings import PbxSettings, SimulatorSettings

log = structlog.get_logger(__name__)

#: Unknown numbers mixed into the demo callers, so "new contact" pops appear too.
UNKNOWN_CALLERS = [("+12025550147", ""), ("+447700900123", ""), ("+33612345678", "")]


@dataclass(frozen=True, slots=True)
class Directory:
    """Who works here and which queues exist, read once at start-up."""

    agents: list[AgentProfile]
    queues: list[QueueInfo]
    #: agents the simulator plays (the others are for people)
    simulated_ids: frozenset[int]
    #: (E.164, name) of demo customers, for simulated callers
    caller_numbers: list[tuple[str, str]]

    @property
    def dids(self) -> dict[str, str]:
        return {q.did: q.name for q in self.queues if q.did}


async def load_directory(sessions: Sessions) -> Directory:
    return Directory(
        agents=await load_agents(sessions),
        queues=await load_queues(sessions),
        simulated_ids=frozenset(a.agent_id for a in await simulated_agents(sessions)),
        caller_numbers=await demo_caller_numbers(sessions),
    )


def build_simulator(pbx: PbxSettings, sim: SimulatorSettings, directory: Directory) -> PbxSimulator:
    simulator = PbxSimulator(
        system_name=pbx.name,
        host=pbx.host,
        port=pbx.port,
        users={pbx.username: pbx.secret.get_secret_value()},
        dids=directory.dids,
        seed=sim.seed,
    )
    for agent in directory.agents:
        simulated = agent.agent_id in directory.simulated_ids
        delay = sim.answer_delay_s if simulated else sim.person_answer_delay_s
        simulator.add_phone(agent.dial_string, PhoneBehaviour(answer_after_s=delay))
    return simulator


def build_callers(
    simulator: PbxSimulator, sim: SimulatorSettings, directory: Directory
) -> CallerGenerator | None:
    """Simulated customers, or None when there is no queue to call (unseeded)."""
    if not directory.queues:
        log.warning("no queues in the database: run `callcenter seed` for the demo")
        return None
    return CallerGenerator(
        simulator,
        numbers=[*directory.caller_numbers, *UNKNOWN_CALLERS],
        queues=[q.name for q in directory.queues],
        interval_s=sim.call_interval_s,
        patience_s=sim.patience_s,
        talk_time_s=sim.talk_time_s,
        rng=random.Random(sim.seed),
    )


async def keep_simulated_agents_ready(
    orchestrator: Orchestrator,
    simulated_ids: frozenset[int],
    *,
    pause_s: float = 3.0,
    tick_s: float = 1.0,
) -> None:
    """Press Ready for each simulated agent who has been away for ``pause_s``."""
    while True:
        now = time.time()
        for agent_id in sorted(simulated_ids):
            view = orchestrator.agent_view(agent_id)
            away = view.state in (AgentState.NOT_READY, AgentState.LOGGED_OUT)
            if away and now - view.since >= pause_s:
                try:
                    await orchestrator.set_agent_state(agent_id, AgentState.READY)
                except Exception:
                    log.exception("demo agent could not go ready", agent_id=agent_id)
        await asyncio.sleep(tick_s)
