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
from collections.abc import Sequence

import structlog

from agents import AgentProfile, AgentState
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.pbxsim import CallerGenerator, PbxSimulator, PhoneBehaviour
from callcenter.settings import PbxSettings, SimulatorSettings

log = structlog.get_logger(__name__)

#: Unknown numbers mixed into the demo callers, so "new contact" pops appear too.
UNKNOWN_CALLERS = [("+12025550147", ""), ("+447700900123", ""), ("+33612345678", "")]


def build_simulator(
    pbx: PbxSettings,
    sim: SimulatorSettings,
    agents: Sequence[AgentProfile],
    simulated_ids: set[int],
    dids: dict[str, str],
) -> PbxSimulator:
    simulator = PbxSimulator(
        system_name=pbx.name,
        host=pbx.host,
        port=pbx.port,
        users={pbx.username: pbx.secret.get_secret_value()},
        dids=dids,
        seed=sim.seed,
    )
    for agent in agents:
        simulated = agent.agent_id in simulated_ids
        delay = sim.answer_delay_s if simulated else sim.person_answer_delay_s
        simulator.add_phone(agent.dial_string, PhoneBehaviour(answer_after_s=delay))
    return simulator


def build_callers(
    simulator: PbxSimulator,
    sim: SimulatorSettings,
    numbers: Sequence[tuple[str, str]],
    queues: Sequence[str],
) -> CallerGenerator:
    return CallerGenerator(
        simulator,
        numbers=[*numbers, *UNKNOWN_CALLERS],
        queues=queues,
        interval_s=sim.call_interval_s,
        patience_s=sim.patience_s,
        talk_time_s=sim.talk_time_s,
        rng=random.Random(sim.seed),
    )


async def keep_simulated_agents_ready(
    orchestrator: Orchestrator,
    simulated_ids: set[int],
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
