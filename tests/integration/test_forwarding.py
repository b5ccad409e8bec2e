"""A node that does not route hands API requests to the leader, over HTTP.

The leader here is a web app on a fake desk served by uvicorn over TCP; the
standby is another app on a desk that has no router. A command sent to the
standby is answered by the leader (its login, role and Origin checks, its
answer and its desk's change); signing in stays on the node it reaches. The
headers that carry the browser's address to the leader are honoured only when
signed with the key of this call center, and a request that was forwarded once
is not forwarded again.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.websockets import WebSocketDisconnect

from agents import AgentState
from callcenter.web import Hub, routes_ws
from callcenter.web.forwarding import (
    FORWARDED_AT,
    FORWARDED_FOR,
    FORWARDED_PROTO,
    FORWARDED_SIGNATURE,
    MAX_BODY_BYTES,
    Forwarding,
    NodeForwarding,
    forwarding_key,
    signature,
)
from callcenter.web.hub_fanout import Envelope, FanoutHub
from tests.conftest import free_port, serve_in_thread
from tests.integration.test_web_api import (
    NOW,
    OWN_ORIGIN,
    SECRET,
    TestClient,
    build_app,
    login,
    make_desk,
)
from tests.integration.test_web_standby import STANDBY, StandbyDesk

KEY = forwarding_key(SECRET)


class FixedLeader:
    """A leader address that never changes; counts how often it was doubted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.forgotten = 0

    async def leader_url(self) -> str | None:
        return self.url

    def forget(self) -> None:
        self.forgotten += 1


def unreachable_count() -> float:
    sample = REGISTRY.get_sample_value(
        "callcenter_forwarded_requests_total", {"outcome": "unreachable"}
    )
    return sample or 0.0


def standby_app(leader: FixedLeader) -> Any:
    forwarding = Forwarding(lookup=leader, routes_here=lambda: False)
    return build_app(StandbyDesk([], [], now=NOW), Hub(), forwarding=forwarding)


@pytest.fixture
def leader() -> Iterator[tuple[str, Any]]:
    desk = make_desk()
    with serve_in_thread(build_app(desk, Hub()), "leader") as url:
        yield url, desk


def test_a_command_sent_to_a_standby_is_carried_out_by_the_leader(
    leader: tuple[str, Any],
) -> None:
    url, desk = leader
    with TestClient(standby_app(FixedLeader(url))) as standby:
        assert login(standby, "alice").status_code == 200
        answer = standby.post(
            "/api/agent/state", json={"state": "ready"}, headers={"origin": OWN_ORIGIN}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "ready"
        assert desk.requests == [(7, AgentState.READY, None)]
        # The leader's own answers come back as they are: its refusals too.
        foreign = standby.post(
            "/api/agent/state",
            json={"state": "not_ready"},
            headers={"origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        assert standby.get("/api/agent/me").json()["state"] == "ready"
        assert "content-security-policy" in {name.lower() for name in answer.headers}
        standby.cookies.clear()
        assert standby.get("/api/agent/me").status_code == 401
    assert len(desk.requests) == 1


def test_when_the_leader_does_not_answer_the_standby_says_try_again() -> None:
    gone = FixedLeader(f"http://127.0.0.1:{free_port()}")
    before = unreachable_count()
    with TestClient(standby_app(gone)) as standby:
        assert login(standby, "alice").status_code == 200, "signing in stays local"
        answer = standby.get("/api/agent/me")
    assert unreachable_count() == before + 1, "counted for the operator"
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert "did not answer" in answer.json()["detail"]
    assert gone.forgotten == 1, "the address is read again next time"


def test_without_a_leader_known_the_standby_answers_for_itself() -> None:
    class NoLeader(FixedLeader):
        async def leader_url(self) -> str | None:
            return None

    with TestClient(standby_app(NoLeader(""))) as standby:
        login(standby, "alice")
        answer = standby.get("/api/agent/me")
    assert answer.status_code == 503
    assert answer.json() == {"detail": STANDBY}


# -- the forwarded headers, on a bare app that shows what it was given -----------------


async def show_request(scope: Any, receive: Any, send: Any) -> None:
    body = json.dumps(
        {
            "client": scope["client"][0] if scope.get("client") else None,
            "scheme": scope["scheme"],
            "headers": sorted(name.decode() for name, _ in scope["headers"]),
        }
    ).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def signed(path: str, client: str = "203.0.113.9", *, at: float | None = None) -> dict[str, str]:
    stamp = f"{time.time() if at is None else at:.3f}"
    return {
        FORWARDED_FOR.decode(): client,
        FORWARDED_PROTO.decode(): "https",
        FORWARDED_AT.decode(): stamp,
        FORWARDED_SIGNATURE.decode(): signature(KEY, "GET", path, client, "https", stamp),
    }


@asynccontextmanager
async def bare(forwarding: Forwarding | None = None) -> AsyncIterator[httpx.AsyncClient]:
    app = NodeForwarding(show_request, key=KEY, forwarding=forwarding)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.7", 5000)),
        base_url="http://node",
    ) as client:
        yield client


async def test_a_signed_forward_gives_the_leader_the_browsers_address() -> None:
    async with bare() as client:
        seen = (await client.get("/api/agent/me", headers=signed("/api/agent/me"))).json()
    assert seen["client"] == "203.0.113.9" and seen["scheme"] == "https"
    assert not [name for name in seen["headers"] if name.startswith("x-callcenter")]


@pytest.mark.parametrize(
    "forged",
    [
        {**signed("/api/agent/me"), FORWARDED_FOR.decode(): "10.0.0.1"},  # address changed
        signed("/api/agent/other"),  # signed for another path
        signed("/api/agent/me", at=time.time() - 120),  # too old
        {FORWARDED_FOR.decode(): "10.0.0.1"},  # no signature at all
        {**signed("/api/agent/me"), FORWARDED_SIGNATURE.decode(): "0" * 64},
    ],
    ids=["other-address", "other-path", "stale", "unsigned", "bad-signature"],
)
async def test_forwarding_headers_a_browser_makes_up_are_dropped(forged: dict[str, str]) -> None:
    async with bare() as client:
        seen = (await client.get("/api/agent/me", headers=forged)).json()
    assert seen["client"] == "198.51.100.7", "the real peer's address stays"
    assert not [name for name in seen["headers"] if name.startswith("x-callcenter")]


async def test_a_request_forwarded_once_is_never_forwarded_again() -> None:
    gone = FixedLeader(f"http://127.0.0.1:{free_port()}")
    forwarding = Forwarding(lookup=gone, routes_here=lambda: False)
    async with bare(forwarding) as client:
        once = await client.get("/api/agent/me", headers=signed("/api/agent/me"))
        fresh = await client.get("/api/agent/me")
        local = await client.post("/api/login", content=b"{}")
        pages = await client.get("/agent")
        too_big = await client.post("/api/rules/validate", content=b"x" * (MAX_BODY_BYTES + 1))
    assert once.status_code == 200, "served here, not sent round again"
    assert fresh.status_code == 503 and gone.forgotten == 1
    assert local.status_code == 200 and pages.status_code == 200
    assert too_big.status_code == 413


def test_forwarding_headers_on_a_websocket_are_dropped_not_a_crash(
    leader: tuple[str, Any],
) -> None:
    url, _ = leader
    with TestClient(standby_app(FixedLeader(url))) as standby:
        login(standby, "alice")
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            standby.websocket_connect(
                "/ws/agent", headers={"origin": OWN_ORIGIN, **signed("/ws/agent")}
            ),
        ):
            pass
    # A standby whose hub is not shared cannot get the page's picture: try again.
    assert closed.value.code == 1013


# -- websockets on a node that does not route ------------------------------------------


def shared_standby(hub: FanoutHub) -> Any:
    """A standby whose hub is shared (as if subscribed to Redis) and knows a leader."""
    hub.subscribed = True
    forwarding = Forwarding(lookup=FixedLeader("http://10.9.9.9:8000"), routes_here=lambda: False)
    return build_app(StandbyDesk([], [], now=NOW), hub, forwarding=forwarding)


def test_a_page_on_a_standby_gets_its_picture_from_the_leader_first() -> None:
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    with TestClient(shared_standby(hub)) as standby:
        login(standby, "alice")
        with standby.websocket_connect("/ws/agent", headers={"origin": OWN_ORIGIN}) as page:
            [asked] = [json.loads(item.text) for item in hub._pending]
            assert (asked["kind"], asked["target"]) == ("snapshot", 7)
            state = {"type": "state", "agent": {"agent_id": 7, "state": "ready"}}
            answer = Envelope("leader:1:aa", "agent", 7, state, to=hub.origin)
            assert hub.receive(answer.encode())
            assert page.receive_json() == state


def test_a_page_on_a_standby_is_told_to_retry_when_the_leader_stays_silent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes_ws, "LEADER_ANSWER_S", 0.3)
    hub = FanoutHub("redis://127.0.0.1:6379/15", channel="unused")
    with TestClient(shared_standby(hub)) as standby:
        login(standby, "sue")
        with (
            standby.websocket_connect("/ws/wallboard", headers={"origin": OWN_ORIGIN}) as page,
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            page.receive_json()
    assert closed.value.code == 1013
    assert closed.value.reason == "the leading node did not answer"
