"""``callcenter simulate``: the PBX simulator on its own, for a service (or any AMI
client: panoramisk, asterisk-ami) started separately."""

from __future__ import annotations

import asyncio

import structlog

from callcenter import demo
from callcenter.db.migrate import run_migrations
from callcenter.db.session import make_engine, make_session_factory
from callcenter.settings import Settings

log = structlog.get_logger(__name__)


async def run_simulator(settings: Settings) -> None:
    await asyncio.to_thread(run_migrations, settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        directory = await demo.load_directory(make_session_factory(engine))
    finally:
        await engine.dispose()
    simulator = demo.build_simulator(settings.pbx[0], settings.simulator, directory)
    await simulator.start()
    callers = demo.build_callers(simulator, settings.simulator, directory)
    try:
        if callers is not None and settings.simulator.callers:
            await callers.run()
        else:
            await asyncio.Event().wait()  # serve AMI clients until stopped
    finally:
        await simulator.stop()
