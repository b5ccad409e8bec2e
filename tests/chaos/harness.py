"""Shared set-up of the chaos scenarios: the short or full form, a seeded
database, a simulator with every agent's phone, the ground-truth probe, and the
closing check that waits for the dust to settle and records the summary row.

Why short and full: ``make test`` runs every scenario briefly (a couple of
faults each) so a regression shows on every change; ``make chaos``
(``CALLCENTER_CHAOS=full``) runs the issue's numbers (ten cuts, three kills,
30 s without a database).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from callcenter.chaos.invariants import ChaosReport, check, load_records
from callcenter.chaos.service import AgentDesk
from callcenter.chaos.summary import REPORTS
from callcenter.db.directory import load_agents, load_queues
from callcenter.db.session import make_engine, make_session_factory
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

FULL = os.environ.get("CALLCENTER_CHAOS", "").lower() == "full"
#: added to every scenario's seed: ``CALLCENTER_CHAOS_SEED=7`` replays other
#: traffic and fault timings (a failure names the seed it ran with)
SEED_OFFSET = int(os.environ.get("CALLCENTER_CHAOS_SEED", "0"))
SECRET = "callcenter-secret"
T = TypeVar("T")
#: the simulator writes no recording files: a service need not wait long for
#: them (the ingest waits ``file_wait_s`` per recorded call, one at a time, and
#: at shutdown up to ``file_wait_s + 5`` s for the backlog)
NO_RECORDING_WAIT = {"file_wait_s": 0.1}


def seeded(base: int) -> int:
    """A scenario's seed, shifted by ``CALLCENTER_CHAOS_SEED``."""
    return base + SEED_OFFSET


def pick(short: T, full: T) -> T:
    """The short form's value unless ``CALLCENTER_CHAOS=full``."""
    return full if FULL else short


@dataclass
class Pbx:
    simulator: PbxSimulator
    probe: AmiProbe
    #: queues with a DID (the callers' choice)
    queues: list[str]
    #: dial string by agent login
    phones: dict[str, str]


@asynccontextmanager
async def pbx_for(
    database_url: str, *, seed: int, answer_after_s: float = 0.05
) -> AsyncIterator[Pbx]:
    """A simulator knowing the database's DIDs and agent phones, and a probe on it."""
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        agents = await load_agents(sessions)
        queues = [q for q in await load_queues(sessions) if q.did]
    finally:
        await engine.dispose()
    simulator = PbxSimulator(
        users={"callcenter": SECRET}, dids={q.did: q.name for q in queues if q.did}, seed=seed
    )
    phones = {a.login: a.dial_string for a in agents}
    for dial_string in phones.values():
        simulator.add_phone(dial_string, PhoneBehaviour(answer_after_s=answer_after_s))
    await simulator.start()
    probe = await AmiProbe.connect("127.0.0.1", simulator.port)
    try:
        await probe.login("callcenter", SECRET)
        yield Pbx(simulator, probe, [q.name for q in queues], phones)
    finally:
        await probe.close()
        await simulator.stop()


async def pbx_idle(simulator: PbxSimulator, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while simulator.active_calls():
        if time.monotonic() > deadline:
            raise AssertionError(f"{simulator.active_calls()} simulated callers still up")
        await asyncio.sleep(0.1)


async def closing_check(
    scenario: str,
    *,
    placed: Sequence[str],
    pbx: Pbx,
    desk: AgentDesk,
    records_url: str,
    faults: int,
    service_down: Sequence[tuple[int, int]] = (),
    timeout_s: float = 60,
) -> ChaosReport:
    """Once every caller is gone, check the invariants until they hold or
    ``timeout_s`` passes (records land a little after the calls end); the last
    report is kept for the summary table and returned for the test to assert."""
    await pbx_idle(pbx.simulator)
    deadline = time.monotonic() + timeout_s
    while True:
        report = check(
            scenario,
            placed=placed,
            records=await load_records(records_url),
            frames=pbx.probe.frames,
            agent_states=await desk.states(),
            faults=faults,
            service_down=service_down,
        )
        if report.ok or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    if not report.ok:
        report.problems.append(f"(seed offset CALLCENTER_CHAOS_SEED={SEED_OFFSET})")
    REPORTS.append(report)
    return report
