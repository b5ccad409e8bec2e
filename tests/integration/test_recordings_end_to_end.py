"""Recordings through the whole service over real TCP: the simulator's
MixMonitor writes real WAV files where Asterisk would, the service joins each
call's legs into one recording, keeps it, and serves it over the REST API with
Range, to whom it belongs, every access audited.

What is asserted is what people would notice: the recording is there after
the call, found by customer, agent and queue, seekable in a player; the part
paused for a card number is silence as long as the pause; a transferred call
is one recording with both agents in it; an agent never hears a colleague's
call, nor a supervisor another team's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agents import AgentState
from callcenter.db.audit import AuditTrail
from callcenter.db.models import PhoneNumber, RecordingRow
from callcenter.ports import Principal, Role, TransferTarget
from callcenter.settings import Settings
from recordings import MAGIC, zero_runs
from routing.rules import Recording
from tests.app_over_db import token_for
from tests.integration.test_offer_outcomes import Desk, running_desk, wait_for

TALK_S = 600.0
SECRET = "demo-only-session-secret-change-me"


@pytest.fixture
async def desk(seeded_db_url: str) -> AsyncIterator[Desk]:
    async with recorded_desk(seeded_db_url) as running:
        yield running


@asynccontextmanager
async def recorded_desk(db_url: str, key: str | None = None) -> AsyncIterator[Desk]:
    """The service with every queue recording every call."""
    async with running_desk(db_url, recordings_key=key) as running:
        o = running.runtime.orchestrator
        recorded = o.rules.model_copy(
            update={
                "queues": [
                    q.model_copy(update={"recording": Recording(mode="all", pause_on_hold=True)})
                    for q in o.rules.queues
                ]
            }
        )
        o.apply_rules(type(o.rules).model_validate(recorded.model_dump()), None)
        yield running


def client(desk: Desk, principal: Principal) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=desk.app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token_for(principal, secret=SECRET)}"},
    )


def admin() -> Principal:
    return Principal(900, "rec-admin", frozenset({Role.ADMIN}))


def agent_principal(agent_id: int, user_id: int = 901) -> Principal:
    return Principal(user_id, f"rec-agent-{agent_id}", frozenset({Role.AGENT}), agent_id=agent_id)


async def customer_number(desk: Desk) -> tuple[str, int]:
    """A seeded customer's number that is theirs alone, and the customer."""
    async with desk.sessions() as session:
        shared = select(PhoneNumber.e164).group_by(PhoneNumber.e164).having(func.count() > 1)
        row = (
            await session.execute(
                select(PhoneNumber.e164, PhoneNumber.customer_id)
                .where(PhoneNumber.e164.not_in(shared))
                .order_by(PhoneNumber.id)
                .limit(1)
            )
        ).one()
    return row[0], row[1]


async def talking(desk: Desk, number: str) -> tuple[str, str]:
    await desk.ready(desk.first)
    linkedid = desk.call(number, talk_s=TALK_S)
    await desk.becomes(desk.first, AgentState.ON_CALL)
    call_id = desk.runtime.orchestrator.agent_view(desk.first.agent_id).call_id
    assert call_id is not None
    return linkedid, call_id


async def kept(desk: Desk, linkedid: str) -> dict[str, Any]:
    """The call's recording once the call is over and the recording kept."""
    record = await desk.ended(linkedid)
    await desk.runtime.orchestrator.settle()

    async def found() -> dict[str, Any] | None:
        async with client(desk, admin()) as http:
            answer = await http.get("/api/recordings", params={"queue": "sales"})
        matches = [r for r in answer.json()["recordings"] if r["call_id"] == record.id]
        return matches[0] if matches else None

    return await wait_for(found, timeout_s=30.0)


def frames(wav: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        return audio.getnframes(), audio.getnframes() / audio.getframerate()


async def test_a_call_is_kept_found_and_played_with_range_and_its_pause_is_silence(
    desk: Desk,
) -> None:
    number, customer_id = await customer_number(desk)
    linkedid, call_id = await talking(desk, number)
    o = desk.runtime.orchestrator
    await asyncio.sleep(1.0)
    view = await o.pause_recording(call_id, desk.first.agent_id, "agent:test")
    assert view["recording"] == {"recorded": True, "paused": True, "paused_by": "agent:test"}
    await asyncio.sleep(1.5)
    await o.resume_recording(call_id, desk.first.agent_id)
    await asyncio.sleep(1.0)
    desk.runtime.simulator.hangup_caller(linkedid)
    recording = await kept(desk, linkedid)

    assert recording["agent_ids"] == [desk.first.agent_id]
    assert recording["encrypted"] is False
    [pause] = recording["pauses"]
    assert pause["by"] == "agent:test"
    assert 1.2 < pause["duration_s"] < 2.5

    async with client(desk, admin()) as http:
        whole = await http.get(recording["audio_url"])
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "audio/wav"
        assert "no-store" in whole.headers["cache-control"]
        part = await http.get(recording["audio_url"], headers={"Range": "bytes=44-1043"})
        beyond = await http.get(recording["audio_url"], headers={"Range": "bytes=99999999-"})
        by_customer = await http.get(
            "/api/recordings", params={"customer_id": recording["customer_id"]}
        )
        by_agent = await http.get("/api/recordings", params={"agent_id": desk.first.agent_id})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 44-1043/{len(whole.content)}"
    assert part.content == whole.content[44:1044]
    assert beyond.status_code == 416
    assert recording["customer_id"] == customer_id
    assert recording["id"] in [r["id"] for r in by_customer.json()["recordings"]]
    assert recording["id"] in [r["id"] for r in by_agent.json()["recordings"]]

    _, seconds = frames(whole.content)
    assert abs(seconds - recording["duration_s"]) < 0.01
    assert 3.0 < seconds < 6.0
    silences = zero_runs(whole.content, 0.3)
    assert len(silences) == 1, silences
    start_s, length_s = silences[0]
    assert abs(length_s - pause["duration_s"]) < 0.3
    assert abs(start_s - pause["start_s"]) < 0.3

    trail = await AuditTrail(desk.sessions).recent(action="recording.played")
    assert [e.target for e in trail].count(str(recording["id"])) == 2 + 1  # 200, 206, 416


async def test_a_transferred_call_is_one_recording_with_both_agents(desk: Desk) -> None:
    linkedid, call_id = await talking(desk, "+4930200002")
    o = desk.runtime.orchestrator
    await asyncio.sleep(1.0)
    await desk.ready(desk.second)
    await o.transfer(
        call_id,
        desk.first.agent_id,
        TransferTarget("agent", agent_id=desk.second.agent_id),
        attended=False,
    )
    await desk.becomes(desk.second, AgentState.ON_CALL)
    await asyncio.sleep(1.0)
    desk.runtime.simulator.hangup_caller(linkedid)
    recording = await kept(desk, linkedid)

    assert recording["agent_ids"] == sorted([desk.first.agent_id, desk.second.agent_id])
    sections = recording["sections"]
    assert [s["agent_id"] for s in sections] == [desk.first.agent_id, desk.second.agent_id]
    assert recording["missing_legs"] == []
    assert sections[1]["offset_s"] >= sections[0]["offset_s"] + sections[0]["duration_s"] - 0.01
    async with client(desk, admin()) as http:
        wav = (await http.get(recording["audio_url"])).content
        everything = (await http.get("/api/recordings", params={"queue": "sales"})).json()
    _, seconds = frames(wav)
    assert abs(seconds - sum(s["duration_s"] for s in sections)) < 0.05
    assert [r["call_id"] for r in everything["recordings"]].count(recording["call_id"]) == 1


async def test_only_the_agents_on_the_call_its_queues_supervisors_and_admins_hear_it(
    desk: Desk,
) -> None:
    linkedid, _ = await talking(desk, "+4930200003")
    await asyncio.sleep(0.5)
    desk.runtime.simulator.hangup_caller(linkedid)
    recording = await kept(desk, linkedid)
    detail = f"/api/recordings/{recording['id']}"
    readers = {
        "the agent on it": agent_principal(desk.first.agent_id),
        "admin": admin(),
        "sales supervisor": Principal(
            902, "sales-sup", frozenset({Role.SUPERVISOR}), queues=frozenset({"sales"})
        ),
    }
    strangers = {
        "another agent": agent_principal(desk.second.agent_id, user_id=903),
        "support supervisor": Principal(
            904, "support-sup", frozenset({Role.SUPERVISOR}), queues=frozenset({"support"})
        ),
    }
    for who, principal in readers.items():
        async with client(desk, principal) as http:
            assert (await http.get(detail)).status_code == 200, who
            assert (await http.get(f"{detail}/audio")).status_code == 200, who
            found = (await http.get("/api/recordings")).json()["recordings"]
            assert recording["id"] in [r["id"] for r in found], who
    for who, principal in strangers.items():
        async with client(desk, principal) as http:
            assert (await http.get(detail)).status_code == 404, who
            assert (await http.get(f"{detail}/audio")).status_code == 404, who
            found = (await http.get("/api/recordings")).json()["recordings"]
            assert recording["id"] not in [r["id"] for r in found], who
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=desk.app), base_url="http://testserver"
    ) as anonymous:
        assert (await anonymous.get(f"{detail}/audio")).status_code == 401


async def test_hold_pauses_the_recording_where_the_queue_says_so(desk: Desk) -> None:
    linkedid, call_id = await talking(desk, "+4930200004")
    o = desk.runtime.orchestrator
    await asyncio.sleep(1.0)
    view = await o.hold(call_id, desk.first.agent_id)
    assert view["recording"]["paused_by"] == "hold"
    await asyncio.sleep(1.0)
    view = await o.resume(call_id, desk.first.agent_id)
    assert view["recording"]["paused"] is False
    await asyncio.sleep(0.5)
    desk.runtime.simulator.hangup_caller(linkedid)
    recording = await kept(desk, linkedid)
    assert [p["by"] for p in recording["pauses"]] == ["hold"]


async def test_with_a_key_the_file_on_disk_is_ciphertext_and_the_api_plays_the_audio(
    seeded_db_url: str,
) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    async with recorded_desk(seeded_db_url, key) as desk:
        linkedid, _ = await talking(desk, "+4930200005")
        await asyncio.sleep(1.0)
        desk.runtime.simulator.hangup_caller(linkedid)
        recording = await kept(desk, linkedid)
        async with client(desk, admin()) as http:
            whole = await http.get(recording["audio_url"])
            part = await http.get(recording["audio_url"], headers={"Range": "bytes=100-299"})
        async with desk.sessions() as session:
            path = await session.scalar(
                select(RecordingRow.path).where(RecordingRow.id == recording["id"])
            )
    assert path is not None
    on_disk = (Settings().recordings.store_dir / path).read_bytes()
    assert recording["encrypted"] is True
    assert on_disk.startswith(MAGIC) and b"RIFF" not in on_disk[:64]
    assert whole.status_code == 200 and whole.content.startswith(b"RIFF")
    assert hashlib.sha256(whole.content).hexdigest() == recording["sha256"]
    assert frames(whole.content)[1] > 0.5
    assert part.status_code == 206
    assert part.content == whole.content[100:300]
