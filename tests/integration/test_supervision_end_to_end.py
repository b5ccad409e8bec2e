"""A supervisor whispers to an agent on a live call, end to end over real TCP:
HTTP API -> orchestrator -> AMI Originate into ``callcenter-spy`` -> the built-in
PBX simulator runs ChanSpy on the agent's channel; every attempt lands in the
audit trail, refused ones included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
from sqlalchemy import select, update

from agents import AgentProfile, AgentState
from callcenter.ami.message import Message
from callcenter.db.directory import load_agents
from callcenter.db.models import Agent, SupervisionEventRow, User
from callcenter.db.session import make_engine, make_session_factory
from callcenter.pbxsim.probe import AmiProbe
from callcenter.service import create_app
from tests.conftest import demo_settings

T = TypeVar("T")
SUPERVISOR_PHONE = "PJSIP/sup1"
PASSWORD = "password"  # the seed's demo password


async def wait_for(check: Callable[[], Awaitable[T | None]], what: str, timeout_s: float = 20) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached in {timeout_s} s: {what}")


async def give_the_supervisor_a_phone(db_url: str) -> None:
    """The demo supervisor has no agent profile; link one with a desk phone (no
    skills, so it is never offered calls). The simulator gives it a phone."""
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine).begin() as session:
            phone = Agent(
                login="sup1", name="Sam Supervisor", dial_string=SUPERVISOR_PHONE, simulated=False
            )
            session.add(phone)
            await session.flush()
            await session.execute(
                update(User).where(User.username == "supervisor").values(agent_id=phone.id)
            )
    finally:
        await engine.dispose()


async def load_agents_of(db_url: str) -> list[AgentProfile]:
    engine = make_engine(db_url)
    try:
        return await load_agents(make_session_factory(engine))
    finally:
        await engine.dispose()


async def audit_rows(db_url: str) -> list[SupervisionEventRow]:
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            query = select(SupervisionEventRow).order_by(SupervisionEventRow.id)
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    response = await client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text


async def test_a_supervisor_whispers_to_the_agent_and_every_attempt_is_audited(
    seeded_db_url: str,
) -> None:
    await give_the_supervisor_a_phone(seeded_db_url)
    settings = demo_settings(seeded_db_url)
    agent = next(a for a in await load_agents_of(seeded_db_url) if a.skills.get("sales"))
    pbx = settings.pbx[0]

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        orchestrator, simulator = runtime.orchestrator, runtime.simulator
        await runtime.links["pbx1"].wait_in_step(20)
        probe = await AmiProbe.connect("127.0.0.1", simulator.port)
        assert (await probe.login(pbx.username, pbx.secret.get_secret_value()))["Response"] == (
            "Success"
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        try:
            # A caller talks with the agent.
            await orchestrator.set_agent_state(agent.agent_id, AgentState.READY)
            linkedid = simulator.place_call(
                queue="sales", caller_number="+14155550100", caller_name="Test Caller", talk_s=60
            )

            async def talking_call() -> str | None:
                view = orchestrator.agent_view(agent.agent_id)
                return view.call_id if view.state is AgentState.ON_CALL else None

            call_id = await wait_for(talking_call, "the agent talks with the caller")

            # The supervisor whispers.
            await log_in(client, "supervisor")
            whisper = await client.post(f"/api/calls/{call_id}/supervise", json={"mode": "whisper"})
            assert whisper.status_code == 202, whisper.text
            started = whisper.json()
            assert (started["call_id"], started["agent_id"]) == (call_id, agent.agent_id)
            spy_leg_id = started["spy_leg_id"]

            agent_leg = await probe.wait_for(
                lambda m: (
                    m.event == "BridgeEnter"
                    and m.get("Uniqueid", "").startswith(f"agentleg-{call_id}-")
                ),
                timeout_s=10,
            )
            spying = await probe.wait_for(
                lambda m: m.event == "ChanSpyStart" and m.get("SpyerUniqueid") == spy_leg_id,
                timeout_s=10,
            )
            assert spying["SpyeeChannel"] == agent_leg["Channel"]
            assert spying["SpyeeChannel"].startswith(f"{agent.dial_string}-")
            assert spying["SpyerChannel"].startswith(f"{SUPERVISOR_PHONE}-")
            chanspy = await probe.wait_for(is_app(spy_leg_id, "ChanSpy"))
            assert chanspy["AppData"] == f"{agent_leg['Channel']},qw"
            assert chanspy["Context"] == "callcenter-spy"

            # Refused: a call id that is not live, and a call nobody answered yet.
            unknown = await client.post("/api/calls/nosuchcall/supervise", json={"mode": "monitor"})
            assert unknown.status_code == 404
            assert unknown.json()["detail"]["reason"] == "no_such_call"
            simulator.place_call(queue="sales", caller_number="+14155550101", talk_s=60)

            async def waiting_call() -> str | None:
                board = (await client.get("/api/wallboard")).json()
                return next((w["call_id"] for w in board["waiting"]), None)

            waiting_id = await wait_for(waiting_call, "a second caller waits")
            not_talking = await client.post(
                f"/api/calls/{waiting_id}/supervise", json={"mode": "barge"}
            )
            assert not_talking.status_code == 409
            assert not_talking.json()["detail"]["reason"] == "not_talking"

            # The admin reads the trail, newest first.
            await client.post("/api/logout")
            await log_in(client, "admin")
            trail = (await client.get("/api/supervision-events")).json()["events"]
            assert [(e["username"], e["call_id"], e["mode"], e["outcome"]) for e in trail] == [
                ("supervisor", waiting_id, "barge", "refused:not_talking"),
                ("supervisor", "nosuchcall", "monitor", "refused:no_such_call"),
                ("supervisor", call_id, "whisper", "started"),
            ]
            assert (trail[2]["agent_id"], trail[2]["spy_leg_id"]) == (agent.agent_id, spy_leg_id)

            # The call ends: ChanSpy stops, and the ACD hangs the supervisor's leg
            # up (the simulated phone itself would stay in ChanSpy for ever).
            spy_leg_gone = is_hangup(spy_leg_id)
            assert not any(spy_leg_gone(m) for m in probe.frames)
            simulator.hangup_caller(linkedid)
            await probe.wait_for(
                lambda m: m.event == "ChanSpyStop" and m.get("SpyerUniqueid") == spy_leg_id,
                timeout_s=10,
            )
            await probe.wait_for(spy_leg_gone, timeout_s=10)
        finally:
            await client.aclose()
            await probe.close()

    rows = await audit_rows(seeded_db_url)
    assert [(r.username, r.mode, r.outcome) for r in rows] == [
        ("supervisor", "whisper", "started"),
        ("supervisor", "monitor", "refused:no_such_call"),
        ("supervisor", "barge", "refused:not_talking"),
    ]
    assert rows[0].call_id == call_id and rows[0].agent_id == agent.agent_id


def is_app(uniqueid: str, application: str) -> Callable[[Message], bool]:
    def check(m: Message) -> bool:
        return (
            m.event == "Newexten"
            and m.get("Uniqueid") == uniqueid
            and m.get("Application") == application
        )

    return check


def is_hangup(uniqueid: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "Hangup" and m.get("Uniqueid") == uniqueid
