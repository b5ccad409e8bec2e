"""The agent names the caller from the pop, over the API and a real SQLite CRM:
a pick from the pick list, a contact created for an unknown number; only on
their own call, only customers that call's pop offered."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.db.migrate import run_migrations
from callcenter.db.models import Customer, Invoice, PhoneNumber
from callcenter.db.session import make_engine, make_session_factory
from callcenter.ports import AgentView, Principal, Role
from screenpop import build_pop
from tests.app_over_db import NOW, build_app_over_db, token_for
from tests.web_fakes import FakeDesk

ALICE = Principal(401, "alice", frozenset({Role.AGENT}), agent_id=1)
BOB = Principal(402, "bob", frozenset({Role.AGENT}), agent_id=2)
ADMIN = Principal(403, "root", frozenset({Role.ADMIN}))
SHARED_LINE = "+12025550147"


def bearer(principal: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(principal)}"}


async def _crm(url: str) -> dict[str, int]:
    await asyncio.to_thread(run_migrations, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    async with sessions.begin() as session:
        jonas = Customer(
            name="Jonas Berg",
            tier="silver",
            lifetime_value=Decimal(900),
            account_number="40000002",
            created_at=at,
        )
        ana = Customer(
            name="Ana Berg",
            tier="gold",
            lifetime_value=Decimal(15000),
            account_number="40000003",
            created_at=at,
            balance=Decimal("42.00"),
        )
        other = Customer(name="Not Offered", tier="platinum", lifetime_value=Decimal(1),
                         account_number="40000004", created_at=at)  # fmt: skip
        session.add_all([jonas, ana, other])
        await session.flush()
        session.add_all(
            [
                PhoneNumber(customer_id=jonas.id, e164=SHARED_LINE),
                PhoneNumber(customer_id=ana.id, e164=SHARED_LINE),
                Invoice(customer_id=ana.id, number="INV-9", issued_on=at.date(),
                        due_on=at.date(), amount=Decimal("42.00"), status="open"),
            ]
        )  # fmt: skip
        ids = {"jonas": jonas.id, "ana": ana.id, "other": other.id}
    await engine.dispose()
    return ids


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"


@pytest.fixture
def ids(db_file: str) -> dict[str, int]:
    return asyncio.run(_crm(db_file))


@pytest.fixture
def desk(ids: dict[str, int]) -> FakeDesk:
    desk = FakeDesk(
        [
            AgentView(1, "alice", "Alice", AgentState.ON_CALL, since=NOW, call_id="call-1"),
            AgentView(2, "bob", "Bob", AgentState.ON_CALL, since=NOW, call_id="call-2"),
        ],
        now=NOW,
    )
    desk.pops[1] = {
        "call_id": "call-1", "queue": "billing", "caller_number": SHARED_LINE,
        "routed_because": "skill billing", "transfer": "from Bob: wants a refund",
        "matches": [{"id": ids["jonas"], "name": "Jonas Berg"},
                    {"id": ids["ana"], "name": "Ana Berg"}],
    }  # fmt: skip
    desk.pops[2] = {
        "call_id": "call-2", "queue": "sales", "caller_number": "(202) 555-0199",
        "new_contact": True,
    }  # fmt: skip
    return desk


@pytest.fixture
def client(db_file: str, desk: FakeDesk) -> Iterator[TestClient]:
    with TestClient(build_app_over_db(db_file, desk)) as client:
        yield client


def test_picking_a_customer_off_the_pick_list_shows_their_whole_record(
    client: TestClient, desk: FakeDesk, ids: dict[str, int]
) -> None:
    answer = client.post(
        "/api/calls/call-1/customer", json={"customer_id": ids["ana"]}, headers=bearer(ALICE)
    )

    assert answer.status_code == 200, answer.text
    pop: dict[str, Any] = answer.json()
    assert pop["customer"]["name"] == "Ana Berg" and pop["matches"] == []
    assert pop["billing"]["open_invoices"][0]["number"] == "INV-9"
    # What the pop said about the call itself is kept.
    assert (pop["queue"], pop["routed_because"], pop["transfer"]) == (
        "billing", "skill billing", "from Bob: wants a refund",
    )  # fmt: skip
    assert desk.identified == [(1, "call-1", pop)]


def test_a_customer_the_pop_did_not_offer_cannot_be_picked(
    client: TestClient, desk: FakeDesk, ids: dict[str, int]
) -> None:
    answer = client.post(
        "/api/calls/call-1/customer", json={"customer_id": ids["other"]}, headers=bearer(ALICE)
    )

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "customer_id"
    assert desk.identified == []


def test_nobody_names_the_caller_of_a_colleagues_call(
    client: TestClient, desk: FakeDesk, ids: dict[str, int]
) -> None:
    answer = client.post(
        "/api/calls/call-1/customer", json={"customer_id": ids["ana"]}, headers=bearer(BOB)
    )
    created = client.post("/api/calls/call-2/contact", json={"name": "X"}, headers=bearer(ALICE))

    assert answer.status_code == 403 and created.status_code == 403
    assert desk.identified == []


def test_an_unknown_caller_is_created_from_the_pop_and_found_by_number_next_time(
    client: TestClient, desk: FakeDesk, db_file: str
) -> None:
    answer = client.post(
        "/api/calls/call-2/contact",
        json={"name": "  Grace Hopper ", "email": "grace@example.com"},
        headers=bearer(BOB),
    )

    assert answer.status_code == 201, answer.text
    pop = answer.json()
    assert pop["customer"]["name"] == "Grace Hopper" and not pop["new_contact"]
    assert pop["customer"]["account_number"].isdigit()
    assert pop["contact"]["name"] == "Grace Hopper"
    assert desk.identified[0][:2] == (2, "call-2")

    async def next_call() -> Any:
        engine = make_engine(db_file)
        try:
            return await build_pop(
                make_session_factory(engine), call_id="call-3", queue="sales",
                caller_number="+1 202 555 0199", account="", default_region="US",
                routed_because="",
            )  # fmt: skip
        finally:
            await engine.dispose()

    again = asyncio.run(next_call())
    assert again.customer is not None and again.customer.name == "Grace Hopper"

    trail = client.get("/api/audit?action=crm.contact_created", headers=bearer(ADMIN)).json()
    assert [(e["username"], e["target"]) for e in trail["events"]] == [("bob", "call-2")]


def test_a_known_caller_is_not_created_again(client: TestClient) -> None:
    answer = client.post("/api/calls/call-1/contact", json={"name": "Dup"}, headers=bearer(ALICE))
    assert answer.status_code == 409


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "x" * 129}, {"name": "Ok", "email": "not-an-email"}, {"nom": "x"}],
)
def test_a_bad_contact_is_refused_naming_the_field(client: TestClient, body: Any) -> None:
    answer = client.post("/api/calls/call-2/contact", json=body, headers=bearer(BOB))
    assert answer.status_code == 422
