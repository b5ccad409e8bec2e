"""The ``callcenter`` command: serve, migrate, seed, simulate, replay."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from callcenter.logs import configure_logging
from callcenter.settings import load_settings

# No locals in tracebacks: they would print settings, secrets included.
app = typer.Typer(
    help="callcenter: a call-center routing service (ACD) for Asterisk.",
    pretty_exceptions_show_locals=False,
)


@app.command()
def serve() -> None:
    """Run the service (web UI, AMI links, router; the PBX simulator when enabled)."""
    import uvicorn

    from callcenter.service import create_app

    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
    )


@app.command()
def migrate() -> None:
    """Apply the database migrations (Alembic) up to the newest."""
    from callcenter.db.migrate import run_migrations

    settings = load_settings()
    configure_logging(settings.log_level)
    run_migrations(settings.database_url)
    typer.echo("database migrated")


@app.command()
def seed(
    customers: Annotated[int, typer.Option(min=0, help="demo customers")] = 3000,
    agents: Annotated[int, typer.Option(min=2, help="demo agents")] = 20,
) -> None:
    """Fill the database with demo data (idempotent: a second run adds nothing)."""
    from callcenter.db.seed import seed_demo
    from callcenter.db.session import make_engine, make_session_factory

    settings = load_settings()
    configure_logging(settings.log_level)
    if not settings.demo:
        raise typer.BadParameter("demo data is only seeded in demo mode (CALLCENTER_DEMO=true)")

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            summary = await seed_demo(
                make_session_factory(engine), customers=customers, agents=agents
            )
        finally:
            await engine.dispose()
        typer.echo(f"seeded: {summary}")

    asyncio.run(run())


@app.command()
def simulate(
    scenario: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            readable=True,
            help="scenario TOML to play (default: [simulator] scenario in the config)",
        ),
    ] = None,
) -> None:
    """Run only the PBX simulator, as a stand-alone Asterisk twin on the first [[pbx]]
    address, playing one scenario: its callers, and the database's agents' phones
    (or the scenario's own phones when the database has no agents)."""
    from callcenter.pbxsim.scenario import ScenarioError
    from callcenter.simulate_main import run_simulator, with_scenario

    settings = with_scenario(load_settings(), scenario)
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        asyncio.run(run_simulator(settings))
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from exc


@app.command()
def replay(
    capture: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Print, one JSON object per line, each call understood from a raw AMI capture
    (with its sibling .actions file when there is one)."""
    from callcenter.replay import replay_file

    for call in replay_file(capture):
        typer.echo(json.dumps(call, ensure_ascii=False))


bench = typer.Typer(help="Benchmarks: print figures as JSON.")
app.add_typer(bench, name="bench")


@bench.command("codec")
def bench_codec(
    captures: Annotated[
        Path | None, typer.Option(help="folder of .ami captures (default: tests/fixtures/ami)")
    ] = None,
    min_events: Annotated[int, typer.Option(min=1000)] = 200_000,
) -> None:
    """AMI codec and call-tracker throughput on the real captures, as JSON."""
    from callcenter.bench.codec import run

    typer.echo(json.dumps(run(captures, min_events)))


@bench.command("ingest")
def bench_ingest(
    as_json: Annotated[
        bool, typer.Option("--json/--no-json", help="one-line JSON (else indented JSON)")
    ] = True,
    events: Annotated[int, typer.Option(min=1000, help="AMI events to generate")] = 200_000,
) -> None:
    """AMI listener throughput (codec + call tracking) on generated call-center traffic,
    against a bare split and panoramisk's parser, as JSON."""
    from callcenter.bench.ingest import run

    typer.echo(json.dumps(run(events), indent=None if as_json else 2))


@bench.command("pbxsim")
def bench_pbxsim(
    calls_per_s: Annotated[float, typer.Option(min=1, help="target arrivals per second")] = 500,
    phones: Annotated[int, typer.Option(min=1, help="simulated agent phones")] = 5000,
    seconds: Annotated[float, typer.Option(min=1, help="seconds of arrivals")] = 10,
    profile: Annotated[bool, typer.Option(help="add the simulator's cProfile top 25")] = False,
) -> None:
    """PBX simulator throughput on one core (calls/s, events/s, CPU, RSS), as JSON."""
    from callcenter.bench.pbxsim import run

    typer.echo(json.dumps(run(calls_per_s, phones, seconds, profile=profile)))


if __name__ == "__main__":
    app()
