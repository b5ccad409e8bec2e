"""``callcenter simulate``: the PBX simulator on its own, for a service (or any AMI
client: panoramisk, asterisk-ami) started separately.

It plays one scenario: the database's agents' phones and queues when it has them,
else the scenario's own (its groups' ``count`` phones, its named queues), so a
scenario can be tried against any AMI client without seeding anything. A
scenario with a duration ends once its last caller has left.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from callcenter import demo
from callcenter.db.migrate import run_migrations
from callcenter.db.session import make_engine, make_session_factory
from callcenter.settings import Settings

log = structlog.get_logger(__name__)

#: how often the end of a finite scenario checks whether its callers are gone
DRAIN_POLL_S = 0.2


def with_scenario(settings: Settings, scenario: Path | None) -> Settings:
    """The settings with ``scenario`` as the simulator's scenario (if given)."""
    if scenario is None:
        return settings
    simulator = settings.simulator.model_copy(update={"scenario": scenario})
    return settings.model_copy(update={"simulator": simulator})


async def run_simulator(settings: Settings) -> None:
    await asyncio.to_thread(run_migrations, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        directory = await demo.load_directory(make_session_factory(engine))
    finally:
        await engine.dispose()
    simulator = demo.build_simulator(
        settings.pbx[0],
        settings.simulator,
        directory,
        standalone=True,
        recordings_dir=settings.recordings.spool_dir,
    )
    await simulator.start()
    log.info(
        "simulating",
        scenario=simulator.scenario.name,
        seed=simulator.seed,
        phones=len(simulator.phones),
        queues=simulator.queues,
    )
    callers = demo.build_callers(simulator, settings.simulator, directory)
    try:
        if callers is not None and settings.simulator.callers:
            await callers.run()
            # The last callers are still waiting or talking: let them finish.
            while simulator.active_calls():
                await asyncio.sleep(DRAIN_POLL_S)
            log.info("scenario over", placed=callers.placed_count)
        else:
            await asyncio.Event().wait()  # serve AMI clients until stopped
    finally:
        await simulator.stop()
