"""``/metrics`` read as Prometheus reads it: scraped over the app's HTTP stack and
parsed by prometheus-client's own parser, while a call goes through the real
service and the PBX simulator over TCP.

Counters are process-wide (other tests move them too), so each assertion is on
the change a scenario makes, not on an absolute count.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from agents import AgentState
from callcenter.db.directory import load_agents
from callcenter.db.models import CallRecord
from callcenter.db.routing_rules import publish_rules
from callcenter.db.session import make_engine, make_session_factory
from routing import QueueRule, RoutingRules
from tests.conftest import eventually
from tests.integration.test_agent_socket_over_tcp import (  # noqa: F401 (fixture)
    ALICE,
    Served,
    next_message,
    open_socket,
    served,
)
from tests.integration.test_routing_live import service_with_simulator

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample by name and labels, through prometheus-client's parser (which
    raises on anything Prometheus could not read)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(app: FastAPI) -> Samples:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://callcenter") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_a_routed_call_shows_in_the_metrics_as_it_waits_and_when_answered(
    seeded_db_url: str,
) -> None:
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    rules = RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})])
    await publish_rules(sessions, rules, author="test")
    agent = next(a for a in await load_agents(sessions) if a.skills.get("sales"))
    await engine.dispose()
    async with service_with_simulator(seeded_db_url) as (app, sim, sessions):
        runtime = app.state.runtime
        desk = runtime.orchestrator
        before = await scrape(app)
        assert value(before, "callcenter_ami_connected", pbx="site-a") == 1.0
        assert value(before, "callcenter_calls_waiting", queue="sales") == 0.0

        linkedid = sim.place_call(queue="sales", caller_number="+12025550131", talk_s=0.3)

        async def waiting() -> bool:
            return len(desk.wallboard().waiting) == 1

        await eventually(waiting, "the caller waits: nobody is Ready")
        during = await scrape(app)
        assert value(during, "callcenter_calls_waiting", queue="sales") == 1.0
        assert value(during, "callcenter_longest_wait_seconds", queue="sales") >= 0.0
        assert value(during, "callcenter_agents", state="ready") == 0.0
        lag_count = "callcenter_ami_event_lag_seconds_count"
        assert value(during, lag_count, pbx="site-a") > value(before, lag_count, pbx="site-a")

        await desk.set_agent_state(agent.agent_id, AgentState.READY)

        async def ended() -> bool:
            async with sessions() as session:
                query = select(CallRecord).where(CallRecord.linkedid == linkedid)
                row = await session.scalar(query)
            return row is not None and row.ended_at is not None

        await eventually(ended, "the call is answered, talked and hung up")
        await desk.settle()
        after = await scrape(app)

    assert value(after, "callcenter_calls_waiting", queue="sales") == 0.0

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("callcenter_routing_decisions_total", kind="offer") == 1.0
    assert grew("callcenter_offers_total", outcome="answered") == 1.0
    assert grew("callcenter_routing_seconds_count", input="call_arrived") >= 1.0
    assert grew("callcenter_routing_seconds_count", input="agent_available") >= 1.0
    assert grew("callcenter_ami_events_total", pbx="site-a") > 0
    assert value(after, "callcenter_history_writes_pending") >= 0.0
    # Operational figures only: the caller's number is nowhere in the scrape.
    assert not any("+12025550131" in str(key) for key in after)


async def test_connected_agent_pages_are_counted_while_open(served: Served) -> None:  # noqa: F811
    async def agents_connected() -> float:
        async with httpx.AsyncClient(base_url=served.base_url) as client:
            response = await client.get("/metrics")
        return value(parse(response.text), "callcenter_websocket_clients", kind="agent")

    before = await agents_connected()
    async with open_socket(served, "/ws/agent", served.token(ALICE)) as socket:
        assert (await next_message(socket))["type"] == "state"
        assert await agents_connected() == before + 1

    async def closed() -> bool:
        return await agents_connected() == before

    await eventually(closed, "the closed page is no longer counted")
