"""How long a screen pop takes from the offer decision to the agent's browser,
with thousands of agent pages connected, and whether a few pages that stop
reading slow everybody else down.

The server is the real web app (``create_web_app``: the real ``/ws/agent``
route, the real ``Hub``, the real session tokens), served by uvicorn on a
loopback port with ``WEBSOCKET_OPTIONS`` as ``callcenter serve`` does, in a
thread of this process. Only the desk behind it is a stand-in holding
``clients`` Ready agents: the websocket route asks it for an agent's view and
current pop, nothing else.

The clients are ``clients`` real ``websockets`` connections, one per agent, in a
separate process (so their work does not share the GIL with the server). Each
logs in as its agent with ``Authorization: Bearer <token>`` (a token the
server's ``Sessions`` issued) and the server's own Origin, reads its ``state``
frame, then stamps every ``pop`` frame with its arrival time. A share
``slow_share`` of them (at least one when the share is above zero) connect and
then never read, like a laptop whose lid was closed: their library buffers at
most a frame or two and then stops reading the socket, so the pops for them
pile up in the kernel and in the server's queue for that page.

Once every client is connected the driver (the main thread, standing for the
orchestrator) offers pops at ``rate`` per second for ``seconds`` seconds on an
absolute schedule, each with ``Hub.to_agent`` (what the orchestrator calls) to
the agents in a seeded random order, round robin over all of them, the slow ones
included, as real offers would be. A pop is a realistic ``ScreenPop`` (customer,
contact, five interactions, open cases, billing, orders, an opportunity), about
4 KB of JSON, encoded inside ``to_agent`` as in the service. The latency of a pop
is its arrival at the client (``time.time()``) minus the ``sent_at`` stamp taken
just before ``to_agent``: the offer decision to the frame in the browser's hands,
JSON encoding, the hub's queue, the server's event loop, the TCP loopback and the
client's websocket parsing included (both processes read the same clock).

Each run of ``run`` serves twice, each time with a fresh server and fresh
clients (so nothing of the first run, connections or queues, carries over to
the second): once with every client reading, which gives ``pops_per_s`` and the
percentiles, once with the slow share not reading, which gives
``p99_ms_with_slow_client`` over the clients that do read. After the push phase
the driver waits until every pop sent to a reading client arrived (or 10 s),
then the slow clients read what was left for them: how many pops were still
unread there (``slow_pops_unread``, proof they were not reading) and whether the
server had closed them with 1013 for falling ``Hub`` ``queue_size`` pops behind
(``slow_clients_closed``). At the default figures a slow page is offered about
one pop per 10 s, far from the queue bound of 100, so 0 closed is the expected
answer: the bound is for pages stalled for minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import math
import multiprocessing
import random
import resource
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, cast

from callcenter.logs import stderr_logger

if TYPE_CHECKING:
    from fastapi import FastAPI
    from websockets.asyncio.client import ClientConnection

    from callcenter.web.hub import Hub

#: clients connected at once, then a pause: a storm of thousands of handshakes
#: in one go only measures the listen backlog
CONNECT_BATCH = 100
CONNECT_PAUSE_S = 0.05
#: how long the clients may take to connect, per client, on top of a minute
CONNECT_BUDGET_PER_CLIENT_S = 0.05
#: after the push phase: how long to wait for pops still on their way
DRAIN_TIMEOUT_S = 10.0
#: a slow client reading what was left for it: this long without a frame is the end
SLOW_DRAIN_IDLE_S = 1.0
CLOSE_TRY_AGAIN = 1013


# -- the server side ----------------------------------------------------------------


class _BenchDesk:
    """The part of ``CallCenterDesk`` that ``/ws/agent`` (and the wallboard feed,
    were a wallboard open) asks: Ready agents with no call on screen yet."""

    def __init__(self, agent_ids: list[int]) -> None:
        from agents import AgentState
        from callcenter.ports import AgentView

        now = time.time()
        self._views = {
            agent_id: AgentView(
                agent_id=agent_id,
                login=f"agent{agent_id}",
                name=f"Agent {agent_id}",
                state=AgentState.READY,
                since=now,
            )
            for agent_id in agent_ids
        }

    def agent_view(self, agent_id: int) -> Any:
        return self._views[agent_id]

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        return None

    def wallboard(self) -> Any:
        from callcenter.ports import Wallboard

        return Wallboard(agents=list(self._views.values()), at=time.time())

    def routing_of(self, call_id: str) -> dict[str, Any] | None:
        return None


async def _nobody(username: str, password: str) -> None:
    return None


def _build_app(agent_ids: list[int]) -> tuple[FastAPI, Hub, dict[int, str]]:
    """The real web app over the bench desk, and a bearer token per agent."""
    from callcenter.ports import CallCenterDesk, Principal, Role
    from callcenter.web.app import create_web_app, web_context_of
    from callcenter.web.hub import Hub

    hub = Hub()
    app = create_web_app(
        desk=cast(CallCenterDesk, _BenchDesk(agent_ids)),
        hub=hub,
        authenticate=_nobody,
        session_secret=secrets.token_urlsafe(32),
        # no presence timers: agents' states do not change in the bench
        desktop_grace_s=None,
    )
    sessions = web_context_of(app).sessions
    tokens = {
        agent_id: sessions.issue(
            Principal(
                user_id=agent_id,
                username=f"agent{agent_id}",
                roles=frozenset({Role.AGENT}),
                agent_id=agent_id,
            )
        )
        for agent_id in agent_ids
    }
    return app, hub, tokens


@contextlib.contextmanager
def _serving(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` with uvicorn on a loopback port in a thread with its own
    event loop, as ``callcenter serve`` does; yields the port."""
    import uvicorn

    from callcenter.web.server_options import WEBSOCKET_OPTIONS

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            backlog=4096,
            timeout_graceful_shutdown=5,
            **WEBSOCKET_OPTIONS,
        )
    )

    def serve() -> None:
        # uvloop, as ``uvicorn.run`` (``callcenter serve``) picks when installed:
        # on the default selector loop a keep-alive HTTP answer here waits ~40 ms
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            runner.run(server.serve(sockets=[listener]))

    thread = threading.Thread(target=serve, name="bench-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvicorn without its [standard] extras
        return None
    return uvloop.new_event_loop


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Thousands of "agent page connected" lines would drown the figures (and
    structlog's default prints to stdout, where the JSON goes): only warnings,
    on stderr, while the bench runs."""
    import structlog

    before = structlog.get_config()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=stderr_logger,
    )
    try:
        yield
    finally:
        structlog.configure(**before)


def _raise_fd_limit() -> None:
    """Each connection is a socket at both ends: 2,000 clients need ~4,000 fds."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def sample_pop() -> dict[str, Any]:
    """A pop as an agent of a busy support line sees it, as the service sends it."""
    from screenpop.document import (
        Billing,
        CaseLine,
        ContactLine,
        CustomerCard,
        InteractionLine,
        InvoiceLine,
        LastAgent,
        OpportunityLine,
        OrderLine,
        PaymentLine,
        ScreenPop,
    )

    dispositions = ["resolved", "callback promised", "escalated", "resolved", "billing question"]
    pop = ScreenPop(
        call_id="bench-0",
        queue="support",
        caller_number="+14155550123",
        customer=CustomerCard(
            id=4711,
            name="Northwind Traders Ltd",
            tier="gold",
            lifetime_value="12500.00",
            account_number="ACC-0047110",
            notes="Prefers e-mail follow-ups. Two sites (Seattle, Portland); the "
            "Portland router was replaced under warranty in March.",
            status="active",
            balance="240.50",
            profitability="high",
        ),
        contact=ContactLine(id=881, name="Maria Anders", role="IT manager"),
        last_interactions=[
            InteractionLine(
                channel="phone" if day % 2 == 0 else "email",
                occurred_at=f"2026-11-{28 - day * 4:02d}T{9 + day}:15:00+00:00",
                disposition=dispositions[day],
                notes="Customer reported intermittent drops on the Portland link; "
                "walked through a firmware update and scheduled a follow-up.",
                agent_id=100 + day,
                agent_name=f"Agent {100 + day}",
            )
            for day in range(5)
        ],
        last_agent=LastAgent(agent_id=100, name="Agent 100", at="2026-11-28T09:15:00+00:00"),
        open_cases=[
            CaseLine(
                id=f"CS-{20931 + case}",
                subject=subject,
                status="open" if case else "waiting on customer",
                priority="high" if case == 0 else "normal",
                opened_at=f"2026-11-{20 + case:02d}T14:02:00+00:00",
            )
            for case, subject in enumerate(
                ["Portland link drops every evening", "Invoice address wrong", "Spare router"]
            )
        ],
        billing=Billing(
            balance="240.50",
            open_invoices=[
                InvoiceLine(
                    number="INV-2026-11873",
                    issued_on="2026-10-31",
                    due_on="2026-11-30",
                    amount="120.25",
                    status="overdue",
                ),
                InvoiceLine(
                    number="INV-2026-12907",
                    issued_on="2026-11-30",
                    due_on="2026-12-30",
                    amount="120.25",
                    status="open",
                ),
            ],
            last_payment=PaymentLine(
                paid_at="2026-10-29T08:30:00+00:00", amount="120.25", method="card"
            ),
        ),
        orders=[
            OrderLine(
                number="SO-55120",
                placed_at="2026-11-25T11:00:00+00:00",
                status="shipped",
                total="89.00",
                delivery="in transit, expected 2026-12-03",
            ),
            OrderLine(
                number="SO-54877",
                placed_at="2026-10-02T16:40:00+00:00",
                status="delivered",
                total="1490.00",
                delivery="delivered 2026-10-06",
            ),
        ],
        opportunities=[
            OpportunityLine(
                title="Support contract renewal",
                kind="renewal",
                stage="proposal sent",
                value="4800.00",
                due_on="2027-01-31",
            )
        ],
        routed_because="gold tier to the senior support group; last agent busy",
    )
    return pop.model_dump(mode="json")


# -- the client side (a separate process) ------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    url: str
    origin: str
    #: (agent id, token, slow)
    clients: list[tuple[int, str, bool]]


def _clients_main(conn: Connection, plan: _Plan) -> None:
    """The client process: connects, reports, measures, reports again."""
    _raise_fd_limit()
    try:
        asyncio.run(_clients(conn, plan))
    except BaseException as exc:  # the parent must hear of it, not wait for nothing
        with contextlib.suppress(Exception):
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


async def _clients(conn: Connection, plan: _Plan) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Origin

    latencies: list[float] = []
    stamps: list[float] = []
    received: Counter[int] = Counter()
    closed_by_server: Counter[int] = Counter()  # close code -> reading clients
    reading: dict[int, ClientConnection] = {}
    slow: dict[int, ClientConnection] = {}
    failures: list[str] = []
    closing = False

    async def open_one(agent_id: int, token: str, is_slow: bool) -> None:
        try:
            ws = await connect(
                plan.url,
                additional_headers={"Authorization": f"Bearer {token}"},
                origin=Origin(plan.origin),
                compression=None,
                open_timeout=30,
                # a page sends no protocol pings; the server's are answered
                ping_interval=None,
                close_timeout=2,
                # a slow client buffers one frame and then stops reading the socket
                max_queue=1 if is_slow else 16,
            )
        except Exception as exc:
            failures.append(f"agent {agent_id}: {type(exc).__name__}: {exc}")
            return
        if is_slow:
            slow[agent_id] = ws
            return
        try:
            first = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if first.get("type") != "state":
                raise RuntimeError(f"first frame is {first.get('type')!r}, not state")
        except Exception as exc:
            failures.append(f"agent {agent_id}: no state frame: {type(exc).__name__}: {exc}")
            await ws.close()
            return
        reading[agent_id] = ws

    async def read(agent_id: int, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                arrived = time.time()
                message = json.loads(text)
                if message.get("type") == "pop":
                    sent_at = float(message["sent_at"])
                    latencies.append(arrived - sent_at)
                    stamps.append(sent_at)
                    received[agent_id] += 1
        except ConnectionClosed:
            pass
        if not closing:
            closed_by_server[ws.close_code or 0] += 1

    async def drain_slow(ws: ClientConnection) -> tuple[int, int | None]:
        """Read what was left for a slow client: (pops, the server's close code)."""
        pops = 0
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), SLOW_DRAIN_IDLE_S))
                if message.get("type") == "pop":
                    pops += 1
        except TimeoutError:
            return pops, None
        except ConnectionClosed as exc:
            return pops, exc.rcvd.code if exc.rcvd is not None else None

    for start in range(0, len(plan.clients), CONNECT_BATCH):
        batch = plan.clients[start : start + CONNECT_BATCH]
        await asyncio.gather(*(open_one(*client) for client in batch))
        await asyncio.sleep(CONNECT_PAUSE_S)
    readers = [asyncio.create_task(read(agent_id, ws)) for agent_id, ws in reading.items()]
    hold_collector()
    conn.send(("ready", sorted(reading), sorted(slow), failures[:5], len(failures)))

    request = await asyncio.to_thread(conn.recv)
    if request[0] != "collect":
        raise RuntimeError(f"unexpected request {request!r}")
    expected: int = request[1]
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while sum(received.values()) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.02)

    drained = await asyncio.gather(*(drain_slow(ws) for ws in slow.values()))
    closing = True
    everyone = [*reading.values(), *slow.values()]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(ws.close() for ws in everyone), return_exceptions=True), 30
        )
    for task in readers:
        task.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    conn.send(
        (
            "results",
            {
                "latencies": latencies,
                "sent_at": stamps,
                "received": dict(received),
                "reading_closed": dict(closed_by_server),
                "slow_pops_unread": sum(pops for pops, _ in drained),
                "slow_close_codes": [code for _, code in drained],
            },
        )
    )


def hold_collector() -> None:
    """Keep the measuring instrument's garbage collector out of the figures.

    This one process stands for thousands of browsers: with 2,000 connections it
    tracks ~500,000 objects, and a full collection of them stalls every client
    for 50-200 ms, which the pops that arrive meanwhile would be charged with
    (a browser holds one page, not 2,000). So the clients collect once after
    connecting, freeze what survives and collect no more until they exit; what
    they allocate while measuring is freed by reference counting, and a minute of
    cycles is small. The server keeps its collector as it is."""
    gc.collect()
    gc.freeze()
    gc.disable()


# -- the driver ------------------------------------------------------------------


def _receive(conn: Connection, process: multiprocessing.process.BaseProcess, timeout: float) -> Any:
    """The child's next message; raises rather than wait forever for a dead child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(0.2):
            message = conn.recv()
            if message[0] == "error":
                raise RuntimeError(f"the client process failed: {message[1]}")
            return message
        if not process.is_alive():
            raise RuntimeError(f"the client process died (exit code {process.exitcode})")
    raise RuntimeError(f"no answer from the client process within {timeout:.0f} s")


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of them at or below it."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def slow_count(clients: int, slow_share: float) -> int:
    if slow_share <= 0 or clients < 1:
        return 0
    return min(clients, max(1, round(clients * slow_share)))


def run_once(
    *, clients: int, rate: float, seconds: float, slow_share: float, seed: int
) -> dict[str, Any]:
    """One serve: connect, push, collect. Figures of this run only."""
    rng = random.Random(seed)
    agent_ids = list(range(1, clients + 1))
    slow_ids = set(rng.sample(agent_ids, slow_count(clients, slow_share)))
    order = agent_ids[:]
    rng.shuffle(order)
    pop = sample_pop()
    app, hub, tokens = _build_app(agent_ids)
    context = multiprocessing.get_context("spawn")
    with _serving(app) as port:
        plan = _Plan(
            url=f"ws://127.0.0.1:{port}/ws/agent",
            origin=f"http://127.0.0.1:{port}",
            clients=[(agent_id, tokens[agent_id], agent_id in slow_ids) for agent_id in agent_ids],
        )
        ours, theirs = context.Pipe()
        process = context.Process(
            target=_clients_main, args=(theirs, plan), name="bench-pop-clients", daemon=True
        )
        process.start()
        theirs.close()
        try:
            _, reading_ids, connected_slow, failures, failure_count = _receive(
                ours, process, 60 + clients * CONNECT_BUDGET_PER_CLIENT_S
            )
            reading = set(reading_ids)
            total = max(1, round(rate * seconds))
            sent = Counter[int]()
            late_s = 0.0
            began = time.perf_counter()
            for index in range(total):
                due = began + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                else:
                    late_s = max(late_s, -delay)
                agent_id = order[index % clients]
                call_id = f"bench-{index}"
                hub.to_agent(
                    agent_id,
                    {
                        "type": "pop",
                        "call_id": call_id,
                        "sent_at": time.time(),
                        "pop": {**pop, "call_id": call_id},
                    },
                )
                sent[agent_id] += 1
            rest = began + total / rate - time.perf_counter()
            if rest > 0:
                time.sleep(rest)
            push_s = time.perf_counter() - began
            to_reading = sum(count for agent_id, count in sent.items() if agent_id in reading)
            to_slow = sum(count for agent_id, count in sent.items() if agent_id in slow_ids)
            ours.send(("collect", to_reading))
            _, results = _receive(ours, process, DRAIN_TIMEOUT_S + 60)
        finally:
            ours.close()
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
    ordered = sorted(results["latencies"])
    received = sum(results["received"].values())
    return {
        "clients": clients,
        "reading_clients": len(reading),
        "slow_clients": len(connected_slow),
        "connect_failures": failure_count,
        "connect_failure_examples": failures,
        "sent": total,
        "sent_to_reading": to_reading,
        "sent_to_slow": to_slow,
        "received": received,
        "push_s": push_s,
        "driver_max_late_ms": _ms(late_s),
        "pop_bytes": len(json.dumps(pop, separators=(",", ":"))),
        "p50_ms": _ms(_percentile(ordered, 0.50)),
        "p99_ms": _ms(_percentile(ordered, 0.99)),
        "max_ms": _ms(ordered[-1]) if ordered else math.nan,
        "reading_clients_closed": results["reading_closed"],
        "slow_pops_unread": results["slow_pops_unread"],
        "slow_clients_closed": sum(
            1 for code in results["slow_close_codes"] if code == CLOSE_TRY_AGAIN
        ),
    }


def run(
    *, clients: int, rate: float, seconds: float, slow_share: float = 0.01, seed: int = 1
) -> dict[str, Any]:
    """Both runs (all reading, then with the slow share) and their figures."""
    if clients < 1 or rate <= 0 or seconds <= 0 or not 0 <= slow_share < 1:
        raise ValueError("clients >= 1, rate > 0, seconds > 0 and 0 <= slow_share < 1")
    _raise_fd_limit()
    with _quiet_logs():
        steady = run_once(clients=clients, rate=rate, seconds=seconds, slow_share=0.0, seed=seed)
        with_slow = run_once(
            clients=clients, rate=rate, seconds=seconds, slow_share=slow_share, seed=seed
        )
    p99, p99_slow = steady["p99_ms"], with_slow["p99_ms"]
    return {
        "clients": clients,
        "rate_per_s": rate,
        "seconds": seconds,
        "pops_per_s": round(steady["received"] / steady["push_s"], 2),
        "p50_ms": steady["p50_ms"],
        "p99_ms": p99,
        "max_ms": steady["max_ms"],
        "received": steady["received"],
        "sent": steady["sent"],
        "p50_ms_with_slow_client": with_slow["p50_ms"],
        "p99_ms_with_slow_client": p99_slow,
        "max_ms_with_slow_client": with_slow["max_ms"],
        "received_with_slow_client": with_slow["received"],
        "sent_to_reading_with_slow_client": with_slow["sent_to_reading"],
        "slow_clients": with_slow["slow_clients"],
        "sent_to_slow_clients": with_slow["sent_to_slow"],
        "slow_pops_unread": with_slow["slow_pops_unread"],
        "slow_clients_closed": with_slow["slow_clients_closed"],
        "reading_clients_closed": sum(steady["reading_clients_closed"].values())
        + sum(with_slow["reading_clients_closed"].values()),
        "connect_failures": steady["connect_failures"] + with_slow["connect_failures"],
        "connect_failure_examples": (
            steady["connect_failure_examples"] + with_slow["connect_failure_examples"]
        )[:5],
        "p99_change_pct": round((p99_slow - p99) / p99 * 100, 2) if p99 > 0 else None,
        "driver_max_late_ms": max(steady["driver_max_late_ms"], with_slow["driver_max_late_ms"]),
        "pop_bytes": steady["pop_bytes"],
        "seed": seed,
    }


def table(result: dict[str, Any]) -> str:
    """The headline figures for people."""
    change = "n/a" if result["p99_change_pct"] is None else f"{result['p99_change_pct']:+} %"
    rows = [
        ("clients", f"{result['clients']}"),
        ("offered", f"{result['rate_per_s']:g}/s for {result['seconds']:g} s"),
        ("pops/s received", f"{result['pops_per_s']:.1f}"),
        ("p50 / p99 / max", f"{result['p50_ms']} / {result['p99_ms']} / {result['max_ms']} ms"),
        (
            f"p99 with {result['slow_clients']} slow",
            f"{result['p99_ms_with_slow_client']} ms ({change})",
        ),
        ("slow closed (1013)", f"{result['slow_clients_closed']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
