"""The pop from an external CRM over real HTTP: a stdlib HTTP server on loopback
plays the company's CRM; the local CRM (SQLite) is what the call center holds
itself, asked when the external one does not know the caller or cannot answer."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.migrate import run_migrations
from callcenter.db.models import Customer, PhoneNumber
from callcenter.db.session import make_engine, make_session_factory
from callcenter.settings import Settings
from screenpop import ScreenPop, build_pop
from screenpop.external import ExternalCrm, ExternalCrmSettings

Sessions = async_sessionmaker[AsyncSession]
NOW_ISO = "2026-12-01T10:00:00+00:00"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class FakeCrm:
    """What the CRM answers per path (with its query), and what it was asked."""

    base_url: str = ""
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def answer_json(self, path: str, document: Any, status: int = 200) -> None:
        self.answers[path] = Answer(status, json.dumps(document).encode())


@pytest.fixture
def fake_crm() -> Iterator[FakeCrm]:
    crm = FakeCrm()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            crm.requests.append((self.path, dict(self.headers.items())))
            answer = crm.answers.get(self.path, Answer(404, b'{"error": "not found"}'))
            if answer.delay_s:
                time.sleep(answer.delay_s)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    crm.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield crm
    server.shutdown()
    server.server_close()


@pytest_asyncio.fixture
async def local_crm(tmp_path: Path) -> AsyncIterator[Sessions]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'local.db'}"
    await asyncio.to_thread(run_migrations, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        local = Customer(
            name="Local Lena",
            tier="silver",
            lifetime_value=Decimal("300"),
            account_number="50000001",
            notes="",
            created_at=datetime(2026, 1, 5, tzinfo=UTC),
        )
        session.add(local)
        await session.flush()
        session.add(PhoneNumber(customer_id=local.id, e164="+33142685300", label="work"))
    yield sessions
    await engine.dispose()


def crm_settings(fake: FakeCrm, **overrides: Any) -> ExternalCrmSettings:
    return ExternalCrmSettings.model_validate(
        {"url_template": f"{fake.base_url}/lookup?phone={{number}}", **overrides}
    )


async def pop_with(
    sessions: Sessions, settings: ExternalCrmSettings, number: str = "+33142685300"
) -> ScreenPop:
    external = ExternalCrm(settings)
    try:
        return await build_pop(
            sessions, call_id="c1", queue="support", caller_number=number, account="",
            default_region="FR", routed_because="", external=external,
        )  # fmt: skip
    finally:
        await external.aclose()


RECORD = {
    "id": "CRM-77",
    "name": "Chloé Dubois",
    "tier": "gold",
    "lifetime_value": 12500,
    "account_number": "40012345",
    "status": "active",
    "open_cases": [
        {"id": "T-1", "subject": "Router drops", "status": "open", "priority": "high"},
        {"id": "T-2", "subject": "Invoice address"},
    ],
    "interactions": [
        {"channel": "phone", "occurred_at": NOW_ISO, "disposition": "resolved",
         "agent_name": "Priya"},
    ],
}  # fmt: skip


async def test_a_known_caller_comes_from_the_external_crm(
    fake_crm: FakeCrm, local_crm: Sessions
) -> None:
    fake_crm.answer_json("/lookup?phone=%2B33142685300", {"customers": [RECORD]})
    pop = await pop_with(local_crm, crm_settings(fake_crm, token="s3cret-token"))
    assert pop.crm_source == "external" and pop.crm_available
    assert pop.customer is not None
    card = pop.customer
    assert (card.id, card.external_id) == (None, "CRM-77")
    assert (card.name, card.tier) == ("Chloé Dubois", "gold")
    assert card.lifetime_value == "12500.00" and card.status == "active"
    assert [(c.id, c.subject, c.status) for c in pop.open_cases] == [
        ("T-1", "Router drops", "open"),
        ("T-2", "Invoice address", ""),
    ]
    assert [(i.channel, i.agent_name) for i in pop.last_interactions] == [("phone", "Priya")]
    # The number is percent-encoded into the query; the token goes as a bearer.
    [(path, headers)] = fake_crm.requests
    assert path == "/lookup?phone=%2B33142685300"
    assert headers["Authorization"] == "Bearer s3cret-token"


async def test_a_field_map_reads_any_crm_shape(fake_crm: FakeCrm, local_crm: Sessions) -> None:
    fake_crm.answer_json(
        "/api/people/33142685300",
        {"data": {"person": {"fullName": "Chloé Dubois", "segment": {"name": "platinum"},
                             "ltv": "99.5", "tickets": [{"key": "J-9", "title": "Outage",
                                                         "state": "new"}]}}},
    )  # fmt: skip
    settings = ExternalCrmSettings.model_validate(
        {
            "url_template": f"{fake_crm.base_url}/api/people/{{digits}}",
            "records_path": "data.person",
            "fields": {"name": "fullName", "tier": "segment.name", "lifetime_value": "ltv",
                       "open_cases": "tickets", "external_id": ""},
            "case_fields": {"id": "key", "subject": "title", "status": "state"},
        }
    )  # fmt: skip
    pop = await pop_with(local_crm, settings)
    assert pop.customer is not None and pop.crm_source == "external"
    assert (pop.customer.name, pop.customer.tier, pop.customer.lifetime_value) == (
        "Chloé Dubois",
        "platinum",
        "99.50",
    )
    assert pop.customer.external_id == ""
    assert [(c.id, c.subject, c.status) for c in pop.open_cases] == [("J-9", "Outage", "new")]


async def test_several_customers_on_one_number_give_a_pick_list(
    fake_crm: FakeCrm, local_crm: Sessions
) -> None:
    other = {**RECORD, "id": "CRM-78", "name": "Marc Dubois", "tier": "bronze"}
    fake_crm.answer_json("/lookup?phone=%2B33142685300", {"customers": [RECORD, other]})
    pop = await pop_with(local_crm, crm_settings(fake_crm))
    assert pop.customer is None and not pop.new_contact
    assert [(m.external_id, m.name) for m in pop.matches] == [
        ("CRM-77", "Chloé Dubois"),
        ("CRM-78", "Marc Dubois"),
    ]


async def test_a_caller_the_external_crm_does_not_know_is_looked_up_locally(
    fake_crm: FakeCrm, local_crm: Sessions
) -> None:
    pop = await pop_with(local_crm, crm_settings(fake_crm))  # the fake answers 404
    assert pop.crm_available and pop.crm_source == "local"
    assert pop.customer is not None and pop.customer.name == "Local Lena"
    fake_crm.answer_json("/lookup?phone=%2B33142685300", {"customers": []})
    empty = await pop_with(local_crm, crm_settings(fake_crm))
    assert empty.customer is not None and empty.customer.name == "Local Lena"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(500, b'{"error": "boom"}'),
        Answer(200, b"<html>maintenance</html>"),
        Answer(200, b'{"customers": []}', delay_s=1.5),
        Answer(200, b'{"customers": [' + b'{"name": "x"},' * 30_000 + b"{}]}"),
    ],
    ids=["error-status", "not-json", "too-slow", "too-big"],
)
async def test_an_external_crm_that_cannot_answer_gives_the_local_record_marked_unavailable(
    fake_crm: FakeCrm, local_crm: Sessions, answer: Answer
) -> None:
    fake_crm.answers["/lookup?phone=%2B33142685300"] = answer
    pop = await pop_with(local_crm, crm_settings(fake_crm, timeout_s=0.4))
    assert pop.crm_available is False and pop.crm_source == "local"
    assert pop.customer is not None and pop.customer.name == "Local Lena"


async def test_an_external_crm_that_is_down_with_a_broken_local_crm_still_pops_the_number(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-schema.db'}")
    settings = ExternalCrmSettings(url_template="http://127.0.0.1:9/lookup?phone={number}")
    try:
        pop = await pop_with(make_session_factory(engine), settings)
    finally:
        await engine.dispose()
    assert pop.crm_available is False and pop.crm_source == ""
    assert pop.caller_number == "+33142685300" and pop.customer is None


async def test_a_withheld_number_never_reaches_the_external_crm(
    fake_crm: FakeCrm, local_crm: Sessions
) -> None:
    pop = await pop_with(local_crm, crm_settings(fake_crm), number="anonymous")
    assert pop.new_contact and pop.crm_available
    assert fake_crm.requests == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"url_template": "https://crm.example.com/l?p={phone}"}, "unknown placeholder {phone}"),
        ({"url_template": "https://crm.example.com/l?p={number!r}"}, "no format or conversion"),
        ({"url_template": "ftp://crm.example.com/{number}"}, "http:// or https://"),
        ({"url_template": "https://{number}.example.com/"}, "not fill it in from the call"),
        ({"url_template": "https://crm.example.com/{number"}, "not a valid template"),
        ({"fields": {"nmae": "fullName"}}, "fields: unknown field 'nmae'"),
        ({"case_fields": {"title": "x"}}, "case_fields: unknown field 'title'"),
        ({"timeout_s": 0}, "timeout_s"),
    ],
)
def test_a_bad_crm_table_is_refused_with_the_field_and_the_reason(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(crm=table)
    assert message in str(refused.value)
    assert "crm" in str(refused.value)


def test_the_token_is_never_shown(fake_crm: FakeCrm) -> None:
    settings = Settings(crm={"url_template": f"{fake_crm.base_url}/{{number}}", "token": "tok-42"})
    assert "tok-42" not in repr(settings) and "tok-42" not in settings.model_dump_json()
    assert settings.crm.enabled and not Settings().crm.enabled
