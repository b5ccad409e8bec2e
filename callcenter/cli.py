"""The ``callcenter`` command: serve, migrate, seed, simulate, replay."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from callcenter.logs import configure_logging
from callcenter.settings import load_settings
from callcenter.web.server_options import WEBSOCKET_OPTIONS

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
        **WEBSOCKET_OPTIONS,
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


@app.command("check-asterisk")
def check_asterisk(
    directory: Annotated[
        Path,
        typer.Argument(
            exists=True, file_okay=False, readable=True, help="an Asterisk config directory"
        ),
    ],
) -> None:
    """Lint an Asterisk config directory (manager.conf, extensions.conf, pjsip.conf)
    against what callcenter needs: one ``file:line: message`` per finding, exit 1
    if there is any."""
    from callcenter.asterisk_check import check_directory

    findings = check_directory(directory)
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        raise typer.Exit(1)
    typer.echo(f"{directory}: ok")


rules = typer.Typer(
    help="Routing rules in the database: validate a file, publish it, list and show versions."
)
app.add_typer(rules, name="rules")

RulesFile = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="rules as TOML (config/routing.toml) or JSON",
    ),
]


def _rules_from_file(path: Path) -> object:
    """The file's validated rules; otherwise every field and reason, and exit 1
    (before anything touches the database)."""
    from callcenter.db.routing_rules import RulesInvalid, read_rules_file

    try:
        return read_rules_file(path)
    except RulesInvalid as exc:
        typer.echo(f"{path}: invalid ({len(exc.errors)} problem(s))")
        for error in exc.errors:
            typer.echo(f"  {error['field'] or '(document)'}: {error['reason']}")
        raise typer.Exit(1) from None


@rules.command("validate")
def rules_validate(file: RulesFile) -> None:
    """Check a rules file without storing it: "valid", or each wrong field and why
    (exit status 1)."""
    _rules_from_file(file)
    typer.echo(f"{file}: valid")


@rules.command("publish")
def rules_publish(
    file: RulesFile,
    author: Annotated[str, typer.Option(help="who publishes (default: your login)")] = "",
    note: Annotated[str, typer.Option(help="why, for the version history")] = "",
) -> None:
    """Validate a rules file and store it as a new version, live at once (callers
    already waiting are routed by it too); prints the version number."""
    import getpass

    from callcenter.db.directory import load_queues
    from callcenter.db.routing_rules import publish_rules
    from callcenter.db.session import make_engine, make_session_factory
    from routing.rules import RoutingRules

    checked = _rules_from_file(file)
    assert isinstance(checked, RoutingRules)
    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> tuple[int, list[str]]:
        engine = make_engine(settings.database_url)
        try:
            sessions = make_session_factory(engine)
            version = await publish_rules(
                sessions, checked, author=author or getpass.getuser(), note=note
            )
            queues = [q.name for q in await load_queues(sessions)]
        finally:
            await engine.dispose()
        return version, [name for name in queues if checked.queue(name) is None]

    version, unruled = asyncio.run(run())
    typer.echo(f"published version {version}")
    if unruled:
        typer.echo(f"warning: no rule for queue(s) {', '.join(unruled)}", err=True)


@rules.command("show")
def rules_show(
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="a stored version (default: the live one)"),
    ] = None,
) -> None:
    """Print a stored rules document as JSON (``callcenter rules publish`` takes it
    back as a .json file)."""
    from callcenter.db.routing_rules import rules_document
    from callcenter.db.session import make_engine, make_session_factory

    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> tuple[int, dict[str, object]] | None:
        engine = make_engine(settings.database_url)
        try:
            return await rules_document(make_session_factory(engine), version)
        finally:
            await engine.dispose()

    found = asyncio.run(run())
    if found is None:
        typer.echo(
            f"no version {version}" if version is not None else "no rules published", err=True
        )
        raise typer.Exit(1)
    typer.echo(json.dumps(found[1], indent=2, ensure_ascii=False))


@rules.command("versions")
def rules_versions() -> None:
    """List the stored versions, newest first; the live one is marked."""
    from callcenter.db.routing_rules import rule_versions
    from callcenter.db.session import make_engine, make_session_factory

    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> list[tuple[int, str, str, str, str]]:
        engine = make_engine(settings.database_url)
        try:
            versions = await rule_versions(make_session_factory(engine))
        finally:
            await engine.dispose()
        published = [v for v in versions if v.published_at is not None]
        live = max(published, key=lambda v: (v.published_at, v.version), default=None)
        return [
            (
                v.version,
                "live" if v is live else ("" if v.published_at else "draft"),
                v.created_at.isoformat(timespec="seconds"),
                v.created_by,
                v.note,
            )
            for v in versions
        ]

    rows = asyncio.run(run())
    if not rows:
        typer.echo("no rules versions stored")
        return
    for number, state, created_at, created_by, note in rows:
        typer.echo(f"{number:>5}  {state:<5}  {created_at}  {created_by:<16}  {note}")


@rules.command("what-if")
def rules_what_if(
    file: RulesFile,
    hours: Annotated[float, typer.Option(min=0.01, max=168, help="history to replay")] = 24.0,
) -> None:
    """Replay the last HOURS of recorded calls through the live rules and through
    FILE (a draft), in simulated time; prints both sets of figures as JSON."""
    from datetime import UTC, datetime, timedelta

    from callcenter.db.routing_rules import live_rules_or_default
    from callcenter.db.session import make_engine, make_session_factory
    from callcenter.db.whatif_history import load_history
    from routing.rules import RoutingRules
    from routing.whatif import compare

    draft = _rules_from_file(file)
    assert isinstance(draft, RoutingRules)
    settings = load_settings()
    configure_logging(settings.log_level)

    async def run() -> dict[str, object]:
        engine = make_engine(settings.database_url)
        try:
            sessions = make_session_factory(engine)
            live, _ = await live_rules_or_default(sessions)
            until = datetime.now(UTC)
            calls, shifts = await load_history(
                sessions, since=until - timedelta(hours=hours), until=until
            )
        finally:
            await engine.dispose()
        return compare(live, draft, calls, shifts)

    typer.echo(json.dumps(asyncio.run(run()), indent=2))


users = typer.Typer(help="User accounts: how an operator creates the first admin.")
app.add_typer(users, name="users")


def _read_password(from_stdin: bool) -> str:
    """From standard input (scripts, secrets managers) or a hidden prompt typed
    twice; never from an argument, which shell history and ``ps`` would keep."""
    import sys

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return str(password)


@users.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="the login name")],
    role: Annotated[
        list[str],
        typer.Option("--role", help="agent, supervisor or admin; repeat for several"),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a user (outside demo mode nobody else exists: this is how the first
    admin is made). Refused, changing nothing, when the name is taken; the
    audit trail records who was created, by the command line."""
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from callcenter.db.admin_errors import Conflict
    from callcenter.db.audit import AuditEvent, AuditTrail
    from callcenter.db.directory_admin import create_user
    from callcenter.db.session import make_engine, make_session_factory
    from callcenter.web.routes_admin import UserIn

    settings = load_settings()
    configure_logging(settings.log_level)
    try:
        # The API's own checks, so a name or role refused there is refused here.
        wanted = UserIn(username=username, password=_read_password(password_stdin), roles=role)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            typer.echo(f"refused: {field}: {error['msg']}", err=True)
        raise typer.Exit(code=2) from None

    async def run() -> None:
        engine = make_engine(settings.database_url)
        try:
            sessions = make_session_factory(engine)
            user = await create_user(
                sessions, wanted.username, wanted.password, [str(r) for r in wanted.roles]
            )
            await AuditTrail(sessions).record(
                AuditEvent(
                    at=datetime.now(UTC),
                    username="(command line)",
                    action="user.created",
                    target=user.username,
                    detail={"roles": sorted(user.roles), "via": "cli"},
                )
            )
        finally:
            await engine.dispose()
        typer.echo(f"user {user.username} created with roles {', '.join(sorted(user.roles))}")

    try:
        asyncio.run(run())
    except Conflict as exc:
        typer.echo(f"refused: {exc.field}: {exc.reason}", err=True)
        raise typer.Exit(code=1) from None


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


@bench.command("route")
def bench_route(
    as_json: Annotated[
        bool, typer.Option("--json", help="print only the JSON object (one line)")
    ] = False,
    sizes: Annotated[str, typer.Option(help="agent counts, comma-separated")] = "1000,10000,100000",
    skills: Annotated[int, typer.Option(min=2, help="skills (one queue each)")] = 200,
    calls: Annotated[int, typer.Option(min=1, help="callers waiting in the steady state")] = 5000,
    samples: Annotated[
        int, typer.Option(min=2, help="timed decisions per size (half arrivals, half Ready)")
    ] = 6000,
    naive_samples: Annotated[
        int, typer.Option(min=0, help="events before those that the naive router takes too")
    ] = 20,
    naive_budget_s: Annotated[
        float, typer.Option(min=0, help="naive router: stop after the sample passing this (s)")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="seed of the rules, agents and callers")] = 1,
    profile: Annotated[
        bool, typer.Option(help="add a cProfile top 25 of the timed calls (slows them)")
    ] = False,
) -> None:
    """Router time per decision (p50/p99 us) at each agent count, against the naive
    linear-scan router, and memory per agent and per waiting call, as JSON."""
    from callcenter.bench.route import run, table

    try:
        agent_counts = [int(part) for part in sizes.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"not a list of numbers: {sizes!r}", param_hint="--sizes") from exc
    if not agent_counts or min(agent_counts) < 1:
        raise typer.BadParameter("give one or more positive agent counts", param_hint="--sizes")
    result = run(
        agent_counts,
        skills=skills,
        calls=calls,
        samples=samples,
        naive_samples=naive_samples,
        naive_budget_s=naive_budget_s,
        seed=seed,
        profile=profile,
        progress=None if as_json else lambda line: typer.echo(line, err=True),
    )
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(table(result))
        typer.echo(json.dumps(result, indent=2))


@bench.command("recordings")
def bench_recordings(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    calls: Annotated[int, typer.Option(min=1, help="recorded calls to keep")] = 60,
    minutes: Annotated[float, typer.Option(min=0.1, help="length of each call")] = 5.0,
    seed: Annotated[int, typer.Option(help="seed of the audio")] = 1,
) -> None:
    """Keeping a recording after its call (join, encrypt and store, read back), as JSON."""
    from callcenter.bench.recordings import run

    result = run(calls=calls, minutes=minutes, seed=seed)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench.command("e2e")
def bench_e2e(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    agents: Annotated[int, typer.Option(min=1, help="agents, each with a phone and a page")] = 2000,
    rates: Annotated[
        str, typer.Option(help="calls per second, one stage each, comma-separated")
    ] = "50,100,200",
    seconds: Annotated[float, typer.Option(min=1, help="seconds of arrivals per rate")] = 60.0,
    databases: Annotated[
        str, typer.Option(help="sqlite and/or postgresql (skipped when not reachable)")
    ] = "sqlite,postgresql",
    seed: Annotated[int, typer.Option(help="seed of the callers and the phones")] = 1,
) -> None:
    """The service (callcenter serve) against the simulator over AMI with a websocket
    page per agent, at each rate: calls, lost, double offers, arrival to Originate
    and pop latency, RSS and CPU, as JSON."""
    from callcenter.bench.e2e import run, table

    try:
        rate_list = [float(rate) for rate in rates.split(",") if rate.strip()]
    except ValueError:
        raise typer.BadParameter(
            "rates: numbers separated by commas", param_hint="--rates"
        ) from None
    kinds = [kind.strip() for kind in databases.split(",") if kind.strip()]
    try:
        result = run(agents=agents, rates=rate_list, seconds=seconds, databases=kinds, seed=seed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(table(result))
        typer.echo(json.dumps(result, indent=2))


@bench.command("pop")
def bench_pop(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    clients: Annotated[int, typer.Option(min=1, help="agent pages (websocket clients)")] = 2000,
    rate: Annotated[float, typer.Option(min=0.1, help="pops offered per second")] = 200.0,
    seconds: Annotated[float, typer.Option(min=0.1, help="seconds of offers per run")] = 10.0,
    slow_share: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="share of clients that stop reading")
    ] = 0.01,
    seed: Annotated[int, typer.Option(help="seed of the offer order and the slow clients")] = 1,
) -> None:
    """Screen pops from the offer to N real websocket clients on loopback (p50/p99 ms),
    and with a share of the clients not reading, as JSON."""
    from callcenter.bench.pop import run, table

    result = run(clients=clients, rate=rate, seconds=seconds, slow_share=slow_share, seed=seed)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(table(result))
        typer.echo(json.dumps(result, indent=2))


@bench.command("forward")
def bench_forward(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    requests: Annotated[int, typer.Option(min=1, help="requests timed, each way")] = 2000,
) -> None:
    """What a node that does not lead adds to an API request it forwards to the
    leader (p50/p99 ms, direct and forwarded, on loopback), as JSON."""
    from callcenter.bench.forward import run

    result = run(requests=requests)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench.command("history")
def bench_history(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    calls: Annotated[int, typer.Option(min=1, help="answered calls written, 16 steps each")] = 2000,
    databases: Annotated[
        str, typer.Option(help="sqlite and/or postgresql (skipped when not reachable)")
    ] = "sqlite,postgresql",
) -> None:
    """The call history's cost: CPU ms per call and calls/s through the batched
    writer, as JSON."""
    from callcenter.bench.history import run

    kinds = [kind.strip() for kind in databases.split(",") if kind.strip()]
    result = run(calls=calls, databases=kinds)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


@bench.command("whatif")
def bench_whatif(
    as_json: Annotated[bool, typer.Option("--json", help="one line of JSON")] = False,
    calls: Annotated[int, typer.Option(min=1, help="calls in the replayed day")] = 20_000,
    agents: Annotated[int, typer.Option(min=1, help="agents over three shifts")] = 300,
    seed: Annotated[int, typer.Option(help="seed of the synthetic day")] = 1,
) -> None:
    """How long a what-if of a busy day takes (live rules and a draft), as JSON."""
    from callcenter.bench.whatif import run

    result = run(calls=calls, agents=agents, seed=seed)
    typer.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))


if __name__ == "__main__":
    app()
