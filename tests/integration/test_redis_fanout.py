"""Two API nodes in one test process share their hubs through Redis pub/sub.

Node A is the normal service (orchestrator, AMI link, its PBX simulator); node B
is a second instance of the app on the same database, without a PBX, served by
uvicorn over TCP, where the agent's websocket is open. A call node A routes to
the agent pops on the agent's page on node B exactly once, and on a page of
node A exactly once too (its own echo from Redis is ignored).

Each test uses Redis database 15 and a channel of its own: pub/sub ignores the
database number, so the channel is what keeps parallel runs (and other services
on the same Redis) from seeing each other's messages.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from agents import AgentProfile, AgentState
from callcenter.db.directory import load_agents
from callcenter.db.session import make_engine, make_session_factory
from callcenter.service import create_app
from callcenter.settings import Settings
from callcenter.web.hub import Hub, PeerHandlers
from callcenter.web.hub_fanout import ENVELOPE_VERSION, Envelope, FanoutHub
from tests.conftest import eventually, free_port, serve_in_thread
from tests.integration.test_agent_socket_over_tcp import next_message

REDIS_DB_URL = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not _redis_reachable():
        pytest.skip("Redis not reachable on 127.0.0.1:6379")
    return REDIS_DB_URL


@pytest.fixture
def channel() -> str:
    return f"callcenter:test:{uuid.uuid4().hex}"


def node_settings(db_url: str, *, redis_url: str | None, channel: str, with_pbx: bool) -> Settings:
    """Node A (``with_pbx``): its own simulator, nothing automatic. Node B: no PBX."""
    simulator: dict[str, Any] = {
        "enabled": with_pbx,
        "callers": False,
        "auto_agents": False,
        "answer_delay_s": 0.2,
        "person_answer_delay_s": 0.3,
        "talk_time_s": 1.0,
        "patience_s": 60.0,
        "seed": 3,
    }
    return Settings(
        database_url=db_url,
        http_port=free_port(),
        pbx=[{"name": "pbx1", "host": "127.0.0.1", "port": free_port()}] if with_pbx else [],
        simulator=simulator,
        redis_url=redis_url,
        fanout={"channel": channel, "node": "node-a" if with_pbx else "node-b"},
    )


async def sales_agent(db_url: str) -> AgentProfile:
    engine = make_engine(db_url)
    try:
        agents = await load_agents(make_session_factory(engine))
    finally:
        await engine.dispose()
    return next(a for a in agents if a.skills.get("sales"))


async def bearer_token(base_url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        answer = await client.post(
            "/api/token", json={"username": username, "password": "password"}
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@asynccontextmanager
async def page_socket(base_url: str, token: str, path: str) -> AsyncIterator[ClientConnection]:
    """A page's websocket on that node, opened as the page does (its Origin)."""
    async with connect(
        base_url.replace("http://", "ws://") + path,
        additional_headers={"Authorization": f"Bearer {token}"},
        origin=Origin(base_url),
        open_timeout=10,
    ) as socket_:
        yield socket_


@asynccontextmanager
async def agent_socket(base_url: str, token: str) -> AsyncIterator[ClientConnection]:
    """The agent's page on that node, once it has had its first state."""
    async with page_socket(base_url, token, "/ws/agent") as socket_:
        assert (await next_message(socket_, 10))["type"] == "state"
        yield socket_


async def read_for(socket_: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    """Every message the page gets in the next ``seconds``."""
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            seen.append(await next_message(socket_, left))
        except TimeoutError:
            break
    return seen


def hub_of(app: FastAPI) -> Hub:
    hub: Hub = app.state.web.hub
    return hub


async def test_a_pop_built_on_node_a_reaches_the_agent_on_node_b_exactly_once(
    seeded_db_url: str, redis_url: str, channel: str
) -> None:
    agent = await sales_agent(seeded_db_url)
    app_a = create_app(
        node_settings(seeded_db_url, redis_url=redis_url, channel=channel, with_pbx=True)
    )
    app_b = create_app(
        node_settings(seeded_db_url, redis_url=redis_url, channel=channel, with_pbx=False)
    )
    hub_a, hub_b = hub_of(app_a), hub_of(app_b)
    assert isinstance(hub_a, FanoutHub) and isinstance(hub_b, FanoutHub)
    assert hub_a.origin != hub_b.origin

    async with app_a.router.lifespan_context(app_a):
        runtime = app_a.state.runtime
        await runtime.links["pbx1"].wait_in_step(10)
        with serve_in_thread(app_b, "node-b") as base_b:

            async def both_subscribed() -> bool:
                return hub_a.subscribed and hub_b.subscribed

            await eventually(both_subscribed, "both nodes subscribe to the channel")
            token = await bearer_token(base_b, agent.login)
            async with agent_socket(base_b, token) as page_on_b:
                # A page of the same agent on node A: the pop reaches it locally,
                # and its echo through Redis must not make it twice.
                with hub_a.agent_subscription(agent.agent_id) as page_on_a:
                    await runtime.orchestrator.set_agent_state(agent.agent_id, AgentState.READY)
                    runtime.simulator.place_call(
                        queue="sales", caller_number="+12025550123", talk_s=0.5
                    )
                    first_pop = None
                    seen_on_b: list[dict[str, Any]] = []
                    while first_pop is None:
                        message = await next_message(page_on_b, 20)
                        seen_on_b.append(message)
                        if message["type"] == "pop":
                            first_pop = message
                    # Whatever would come twice comes within a round trip.
                    seen_on_b += await read_for(page_on_b, 2.0)
                    seen_on_a = [await page_on_a.next() for _ in range(page_on_a.pending())]

    call_id = first_pop["call_id"]
    assert first_pop["pop"]["call_id"] == call_id
    pops_on_b = [m for m in seen_on_b if m["type"] == "pop" and m["call_id"] == call_id]
    assert len(pops_on_b) == 1, seen_on_b
    pops_on_a = [m for m in map(_decode, seen_on_a) if m["type"] == "pop"]
    assert [m["call_id"] for m in pops_on_a] == [call_id]
    # Node B's page also had the agent's state change, made on node A.
    assert any(m["type"] == "state" and m["agent"]["state"] == "ready" for m in seen_on_b)
    assert hub_b.delivered >= 2 and hub_b.malformed == 0
    assert hub_a.dropped == 0 and hub_a.published >= 2


async def test_without_redis_two_nodes_do_not_share(seeded_db_url: str, channel: str) -> None:
    agent = await sales_agent(seeded_db_url)
    app_a = create_app(
        node_settings(seeded_db_url, redis_url=None, channel=channel, with_pbx=False)
    )
    app_b = create_app(
        node_settings(seeded_db_url, redis_url=None, channel=channel, with_pbx=False)
    )
    hub_a, hub_b = hub_of(app_a), hub_of(app_b)
    assert type(hub_a) is Hub and type(hub_b) is Hub

    async with app_a.router.lifespan_context(app_a):
        with serve_in_thread(app_b, "node-b") as base_b:
            token = await bearer_token(base_b, agent.login)
            async with agent_socket(base_b, token) as page_on_b:
                hub_a.to_agent(agent.agent_id, {"type": "pop", "call_id": "from-a", "pop": {}})
                assert await read_for(page_on_b, 1.0) == []
                # ...while node B's own hub does reach it (from another thread: the
                # hub hands the push over to node B's loop).
                hub_b.to_agent(agent.agent_id, {"type": "pop", "call_id": "from-b", "pop": {}})
                got = await read_for(page_on_b, 2.0)
    assert [m["call_id"] for m in got if m["type"] == "pop"] == ["from-b"]


def _decode(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _envelope(**fields: Any) -> bytes:
    envelope = {
        "v": ENVELOPE_VERSION,
        "origin": "another-node:1:abcd",
        "kind": "agent",
        "target": 7,
        "message": {"type": "pop", "call_id": "c-1", "pop": {}},
        **fields,
    }
    return json.dumps(envelope).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        _envelope(v=99),
        _envelope(origin=""),
        _envelope(kind="everyone"),
        _envelope(target=None),
        _envelope(target=True),
        _envelope(target="7"),
        _envelope(kind="wallboards", target=7),
        _envelope(message="a string"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-an-object",
        "other-version",
        "no-origin",
        "unknown-kind",
        "no-agent",
        "bool-agent",
        "text-agent",
        "wallboard-with-target",
        "message-not-object",
    ],
)
async def test_a_malformed_message_from_redis_is_logged_and_skipped(raw: bytes) -> None:
    hub = FanoutHub("redis://:hunter2@127.0.0.1:6379/15", channel="unused")
    with hub.agent_subscription(7) as page, structlog.testing.capture_logs() as logs:
        assert hub.receive(raw) is False
        # the next, well-formed message still gets through
        assert hub.receive(_envelope()) is True
    assert page.pending() == 1
    assert _decode(await page.next())["call_id"] == "c-1"
    assert hub.malformed == 1 and hub.delivered == 1
    [line] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert line["event"] == "malformed hub message from redis skipped"
    assert "hunter2" not in repr(logs)


async def test_a_node_ignores_its_own_echo_and_delivers_wallboards_of_others() -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    with hub.agent_subscription(7) as page, hub.wallboard_subscription() as board:
        own = Envelope(hub.origin, "agent", 7, {"type": "pop", "call_id": "mine"})
        assert hub.receive(own.encode()) is False
        other = Envelope("other:1:ff", "wallboards", None, {"type": "wallboard", "waiting": []})
        assert hub.receive(other.encode().encode()) is True
    assert page.pending() == 0
    assert _decode(await board.next())["type"] == "wallboard"


async def test_with_redis_down_a_node_still_delivers_locally_and_never_logs_the_password() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    hub = FanoutHub(url, channel="unused", max_delay_s=0.5)
    with structlog.testing.capture_logs() as logs:
        running = asyncio.create_task(hub.run())
        try:
            with hub.agent_subscription(7) as page:
                hub.to_agent(7, {"type": "pop", "call_id": "local", "pop": {}})
                assert _decode(await asyncio.wait_for(page.next(), 1))["call_id"] == "local"

                async def given_up() -> bool:
                    return hub.dropped == 1

                await eventually(given_up, "the unpublishable message is dropped", 10)
                assert not running.done()
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    assert "hunter2" not in repr(logs)
    events = {entry["event"] for entry in logs}
    assert "redis unreachable: hub messages reach this node's clients only" in events
    assert "hub fan-out cannot subscribe" in events
    assert any(entry.get("redis", "").startswith("127.0.0.1:") for entry in logs)


# -- pages on nodes that do not route: snapshots and presence --------------------------


class Recorder:
    """The routing node's side: answers snapshots, counts remote desktops."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.closed: list[int] = []
        self.asked: list[int | None] = []

    def snapshot(self, agent_id: int | None) -> list[dict[str, Any]]:
        self.asked.append(agent_id)
        return [{"type": "state", "agent": {"agent_id": agent_id}}]

    def handlers(self) -> PeerHandlers:
        return PeerHandlers(
            self.snapshot, self.opened.append, self.closed.append, lambda revocation: True
        )


def queued(hub: FanoutHub) -> list[dict[str, Any]]:
    """What the hub would publish next (its queue, without Redis)."""
    return [_decode(item.text) for item in hub._pending]


async def test_a_snapshot_request_is_answered_to_the_asking_node_only() -> None:
    leader = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    recorder = Recorder()
    leader.answer_peers(recorder.handlers())
    with leader.agent_subscription(7) as leaders_own_page:
        assert leader.receive(Envelope("api-node:1:aa", "snapshot", 7, {}).encode()) is True
    assert recorder.asked == [7]
    [answer] = queued(leader)
    assert answer["kind"] == "agent" and answer["target"] == 7
    assert answer["to"] == "api-node:1:aa"
    assert leaders_own_page.pending() == 0, "the leader's own pages already have it"

    api_node = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    other = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    answered = Envelope(leader.origin, "agent", 7, answer["message"], to=api_node.origin)
    with api_node.agent_subscription(7) as asking, other.agent_subscription(7) as elsewhere:
        assert api_node.receive(answered.encode()) is True
        assert other.receive(answered.encode()) is False
    assert asking.pending() == 1 and elsewhere.pending() == 0


async def test_a_node_without_redis_cannot_promise_a_snapshot() -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    assert hub.request_snapshot(7) is False, "not subscribed: the answer could not arrive"
    assert not queued(hub)
    assert Hub().request_snapshot(7) is False


async def test_desktops_on_other_nodes_count_until_they_close_or_the_node_goes_silent() -> None:
    leader = FanoutHub("redis://127.0.0.1:6379/15", channel="unused", presence_interval_s=0.05)
    recorder = Recorder()
    leader.answer_peers(recorder.handlers())

    def presence(agents: dict[str, int], wallboards: int) -> bytes:
        message = {"agents": agents, "wallboards": wallboards}
        return Envelope("api-node:1:aa", "presence", None, message).encode().encode()

    assert leader.receive(presence({"7": 2, "8": 1}, 1)) is True
    assert sorted(recorder.opened) == [7, 7, 8] and recorder.closed == []
    assert leader.wallboard_count == 1, "the leader keeps pushing wallboards for that node"
    leader.receive(presence({"7": 1}, 0))  # one page of 7 and 8's only page closed
    assert sorted(recorder.closed) == [7, 8]
    assert leader.wallboard_count == 0
    leader.receive(presence({"7": 1}, 0))  # the periodic repeat changes nothing
    assert sorted(recorder.opened) == [7, 7, 8] and len(recorder.closed) == 2

    await asyncio.sleep(0.05 * 3 + 0.05)
    leader._forget_silent_peers()
    assert sorted(recorder.closed) == [7, 7, 8], "a silent node's pages are closed"


@pytest.mark.parametrize(
    "message",
    [{"agents": {"7": 0}, "wallboards": 0}, {"agents": {"x": 1}, "wallboards": 0}, {"agents": {}}],
    ids=["no-pages", "not-an-id", "no-wallboards"],
)
async def test_a_malformed_presence_is_skipped(message: dict[str, Any]) -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    recorder = Recorder()
    hub.answer_peers(recorder.handlers())
    raw = json.dumps(
        {
            "v": ENVELOPE_VERSION,
            "origin": "o:1:1",
            "kind": "presence",
            "target": None,
            "message": message,
        }
    )
    assert hub.receive(raw) is False and hub.malformed == 1
    assert recorder.opened == []


async def test_pages_opening_and_closing_are_announced_while_subscribed() -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused", presence_interval_s=60)
    hub.subscribed = True  # as if Redis were there: what it queues is what it would say
    announcing = asyncio.create_task(hub._presence_forever())
    try:
        with hub.agent_subscription(7), hub.agent_subscription(7), hub.wallboard_subscription():
            await asyncio.sleep(0.5)
            said_open = [m for m in queued(hub) if m["kind"] == "presence"][-1]
        await asyncio.sleep(0.5)
        said_closed = [m for m in queued(hub) if m["kind"] == "presence"][-1]
    finally:
        announcing.cancel()
        await asyncio.gather(announcing, return_exceptions=True)
    assert said_open["message"] == {"agents": {"7": 2}, "wallboards": 1}
    assert said_closed["message"] == {"agents": {}, "wallboards": 0}


async def test_a_failing_answer_to_one_node_does_not_stop_the_others() -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")

    def broken(agent_id: int | None) -> list[dict[str, Any]]:
        raise RuntimeError("a bug")

    hub.answer_peers(PeerHandlers(broken, print, print, lambda revocation: True))
    with structlog.testing.capture_logs() as logs, hub.agent_subscription(7) as page:
        assert hub.receive(Envelope("o:1:1", "snapshot", 7, {}).encode()) is False
        assert hub.receive(_envelope()) is True
    assert page.pending() == 1
    assert any(entry["event"] == "hub message from another node failed" for entry in logs)
