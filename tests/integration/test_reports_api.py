"""The reports API over a real database (SQLite and PostgreSQL) holding a
hand-built hour of traffic whose figures are worked out below.

The hour (T0 = 2025-03-03 09:00 UTC, a Monday):

- c1 sales: waits 10 s, agent 1 talks 120 s of which 20 on hold, wraps up 30 s,
  survey 5;
- c2 sales: waits 40 s (over the 20 s threshold), agent 2 talks 60 s, no
  wrap-up, survey 3;
- c3 sales: hangs up after 3 s (a short abandon);
- c4 sales: hangs up after 50 s (an abandon);
- c5 support: waits 15 s (threshold 30 s), agent 1 talks 60 s.

So sales has SL = 1/2 (c1 within, c2 not), SL2 = 1/3 (c4 counts, c3 does not),
ASA = (10 + 40) / 2 = 25 s, AHT = ((100 + 20 + 30) + 60) / 2 = 105 s, abandon
rate = 1/3, CSAT = (5 + 3) / 2 = 4.
"""

from __future__ import annotations

import asyncio
import csv
import io
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.db.migrate import run_migrations
from callcenter.db.models import (
    Agent,
    AgentSkill,
    AgentStateChange,
    CallOffer,
    CallRecord,
    Customer,
    Interaction,
    Skill,
)
from callcenter.db.routing_rules import publish_rules
from callcenter.db.session import make_engine, make_session_factory
from callcenter.ports import AgentView, Principal, QueueStatsView, Role
from callcenter.settings import ReportSettings
from routing import QueueRule, RoutingRules
from tests.app_over_db import build_app_over_db, token_for
from tests.web_fakes import FakeDesk

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
HOUR = {"since": T0.isoformat(), "until": (T0 + timedelta(hours=1)).isoformat()}
ADMIN = Principal(1, "boss", frozenset({Role.ADMIN}))
SUPPORT_ONLY = Principal(2, "sam", frozenset({Role.SUPERVISOR}), queues=frozenset({"support"}))
AGENT = Principal(3, "alice", frozenset({Role.AGENT}), agent_id=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def build_traffic(url: str) -> None:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            sales, support = Skill(name="sales"), Skill(name="support")
            session.add_all([sales, support])
            await session.flush()
            for agent_id, skills in ((1, (sales, support)), (2, (sales,))):
                session.add(Agent(id=agent_id, login=f"agent{agent_id}", name=f"Agent {agent_id}",
                                  dial_string=f"PJSIP/{agent_id}"))  # fmt: skip
                await session.flush()
                for skill in skills:
                    session.add(AgentSkill(agent_id=agent_id, skill_id=skill.id, proficiency=3))
            customers = {
                key: Customer(name=name, tier="gold", lifetime_value=Decimal(value),
                              account_number=f"A-{key}", created_at=at(-86400 * 900), status=status)
                for key, name, value, status in (
                    ("a", "Ann", "0", "active"), ("b", "Bob", "0", "active"),
                    ("c", "Cyd", "0", "active"), ("d", "=HYPERLINK(\"x\")", "20000", "active"),
                    ("e", "Eve", "20000", "active"), ("f", "Fay", "100", "active"),
                    ("g", "Gus", "9000", "active"), ("h", "Hal", "50000", "closed"),
                )
            }  # fmt: skip
            session.add_all(customers.values())
            await session.flush()
            calls = [
                # id, queue, enqueued, answered, ended, outcome, agent, hold, customer, csat
                ("c1", "sales", 0, 10, 130, "answered", 1, 20.0, "a", 5),
                ("c2", "sales", 60, 100, 160, "answered", 2, 0.0, "b", 3),
                ("c3", "sales", 200, None, 203, "abandoned", None, 0.0, None, None),
                ("c4", "sales", 300, None, 350, "abandoned", None, 0.0, None, None),
                ("c5", "support", 400, 415, 475, "answered", 1, 0.0, "c", None),
            ]
            for call_id, queue, enq, ans, end, outcome, agent, hold, who, score in calls:
                session.add(
                    CallRecord(
                        id=call_id, pbx="pbx1", linkedid=call_id, queue=queue,
                        caller_number="+33100000000",
                        customer_id=customers[who].id if who else None,
                        enqueued_at=at(enq), answered_at=at(ans) if ans is not None else None,
                        ended_at=at(end), outcome=outcome, agent_id=agent, hold_s=hold,
                        abandon_phase="waiting" if outcome == "abandoned" else None,
                        csat_score=score,
                    )
                )  # fmt: skip
                await session.flush()
                if agent is not None and ans is not None:
                    session.add(
                        CallOffer(call_id=call_id, leg_id=f"{call_id}-leg", agent_id=agent,
                                  agent_target=f"PJSIP/{agent}", offered_at=at(ans - 5),
                                  result="answered", answered_at=at(ans), left_at=at(end),
                                  held_s=hold)
                    )  # fmt: skip
            states = [
                (1, "ready", -600), (1, "ringing", 5), (1, "on_call", 10), (1, "wrap_up", 130),
                (1, "ready", 160), (1, "on_call", 415), (1, "ready", 475),
                (1, "not_ready", 1800), (1, "logged_out", 2400),
                (2, "ready", 50), (2, "on_call", 100), (2, "ready", 160), (2, "logged_out", 3000),
            ]  # fmt: skip
            for agent_id, state, seconds in states:
                reason = "break" if state == "not_ready" else None
                session.add(
                    AgentStateChange(agent_id=agent_id, state=state, at=at(seconds), reason=reason)
                )
            now = datetime.now(UTC)
            contacts = [
                ("a", "phone", at(130), "c1", 1), ("a", "email", at(3 * 86400), None, None),
                ("b", "phone", at(160), "c2", 2),
                ("c", "phone", at(475), "c5", 1), ("c", "phone", at(10 * 86400), None, None),
                ("d", "email", now - timedelta(days=700), None, None),
                ("e", "email", now - timedelta(days=10), None, None),
            ]  # fmt: skip
            for who, channel, when, call_id, agent_id in contacts:
                session.add(
                    Interaction(customer_id=customers[who].id, agent_id=agent_id,
                                channel=channel, occurred_at=when, call_id=call_id)
                )  # fmt: skip
        rules = RoutingRules(
            queues=[
                QueueRule(name="sales", skills={"sales": 1}, service_level_s=20),
                QueueRule(name="support", skills={"support": 1}, service_level_s=30),
            ]
        )
        await publish_rules(sessions, rules, author="test")
    finally:
        await engine.dispose()


def board() -> FakeDesk:
    """The live desk ten minutes into the hour: agent 1 ready, agent 2 not ready,
    a caller waiting in sales for 30 s."""
    now = at(600).timestamp()
    desk = FakeDesk(
        [
            AgentView(1, "agent1", "Agent One", AgentState.READY, since=now),
            AgentView(2, "agent2", "Agent Two", AgentState.NOT_READY, since=now, reason="break"),
        ],
        now=now,
    )
    desk.queues = [
        QueueStatsView("sales", waiting=1, oldest_enqueued_at=now - 30, service_level_s=20),
        QueueStatsView("support", service_level_s=30, service_level_target=0.9),
    ]
    return desk


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    run_migrations(db_url)
    asyncio.run(build_traffic(db_url))
    app = build_app_over_db(db_url, board(), reports=ReportSettings(timezone="Europe/Paris"))
    with TestClient(app) as client:
        yield client


def get(client: TestClient, path: str, principal: Principal = ADMIN, **params: Any) -> Any:
    reply = client.get(
        path, params=params, headers={"Authorization": f"Bearer {token_for(principal)}"}
    )
    return reply


def test_queue_figures_of_the_hour(client: TestClient) -> None:
    reply = get(client, "/api/reports/history", group_by="queue", **HOUR)
    assert reply.status_code == 200, reply.text
    rows = {row["key"]: row for row in reply.json()["rows"]}
    sales = rows["sales"]
    assert (sales["answered"], sales["answered_within"]) == (2, 1)
    # two hung up; the 3 s one is a short abandon, left out of the rates
    assert (sales["abandoned"], sales["short_abandons"], sales["counted_abandons"]) == (2, 1, 1)
    assert sales["service_level"] == pytest.approx(0.5)
    assert sales["service_level_with_abandons"] == pytest.approx(1 / 3, abs=1e-4)
    assert sales["asa_s"] == pytest.approx(25.0)
    # the 30 s wrap-up comes from agent 1's state changes after c1
    assert sales["aht_s"] == pytest.approx(105.0)
    assert sales["abandon_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert (sales["csat_avg"], sales["csat_responses"]) == (pytest.approx(4.0), 2)
    support = rows["support"]
    assert (support["answered"], support["service_level"], support["aht_s"]) == (1, 1.0, 60.0)


def test_hours_are_local_to_the_center_and_come_as_csv(client: TestClient) -> None:
    reply = get(client, "/api/reports/history", group_by="hour", format="csv", **HOUR)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(reply.text)))
    # 09:00 UTC is 10:00 in Paris in March (UTC+1)
    assert [row["key"] for row in table] == ["2025-03-03T10:00"]
    assert table[0]["answered"] == "3"


def test_agents_occupancy_and_handle_time(client: TestClient) -> None:
    reply = get(client, "/api/reports/agents", **HOUR)
    assert reply.status_code == 200, reply.text
    agents = {a["agent_id"]: a for a in reply.json()["agents"]}
    one = agents[1]
    assert one["handled"] == 2
    # logged in the first 2,400 s, 600 of them Not Ready; 180 s on calls + 30 s wrap-up
    assert one["logged_in_s"] == pytest.approx(2400)
    assert one["not_ready_s"] == pytest.approx(600)
    assert one["occupancy"] == pytest.approx(210 / 1800, abs=1e-4)
    assert agents[2]["handled"] == 1


def test_first_contact_resolution_counts_repeats_on_any_channel(client: TestClient) -> None:
    reply = get(client, "/api/reports/fcr", **HOUR)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    # Ann wrote an email 3 days after her call (a repeat); Bob never came back;
    # Cyd called again, but 10 days later (outside the 7 days).
    assert body["overall"] == {"contacts": 3, "resolved": 2, "repeated": 1, "pending": 0,
                               "rate": pytest.approx(0.6667, abs=1e-4)}  # fmt: skip
    assert body["by_queue"]["sales"]["rate"] == pytest.approx(0.5)
    assert body["by_queue"]["support"]["rate"] == pytest.approx(1.0)


def test_seat_usage_peaks_per_local_day(client: TestClient) -> None:
    reply = get(client, "/api/reports/seats", **HOUR)
    assert reply.status_code == 200, reply.text
    assert [(p["day"], p["peak"]) for p in reply.json()["daily_peaks"]] == [("2025-03-03", 2)]


def test_dormant_valuable_customers_are_listed_exported_and_audited(client: TestClient) -> None:
    reply = get(client, "/api/reports/dormant", days=365, min_lifetime_value=5000)
    assert reply.status_code == 200, reply.text
    # Eve was in touch 10 days ago, Fay is not valuable, Hal's account is closed.
    names = [c["name"] for c in reply.json()["customers"]]
    assert names == ['=HYPERLINK("x")', "Gus"]
    exported = get(client, "/api/reports/dormant", days=365, format="csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:2] == ["customer_id", "name"]
    # a spreadsheet must not run the name as a formula
    assert rows[1][1] == '\'=HYPERLINK("x")'
    trail = get(client, "/api/audit", action="report.dormant_customers").json()["events"]
    assert len(trail) == 2 and trail[0]["username"] == "boss"


def test_real_time_figures_and_staffing(client: TestClient) -> None:
    reply = get(client, "/api/reports/realtime")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    queues = {q["name"]: q for q in body["queues"]}
    sales = queues["sales"]
    assert sales["waiting"] == 1 and sales["longest_wait_s"] == pytest.approx(30)
    assert sales["window"]["service_level"] == pytest.approx(0.5)
    assert sales["today"]["service_level_with_abandons"] == pytest.approx(1 / 3, abs=1e-4)
    # agent 1 (sales and support) is logged in; agent 2 too, Not Ready is logged in
    assert sales["staffing"]["agents_logged_in"] == 2
    assert queues["support"]["staffing"]["agents_logged_in"] == 1
    assert sales["staffing"]["agents_needed"] >= 1
    assert body["agents_by_state"] == {"not_ready": 1, "ready": 1}
    assert body["timezone"] == "Europe/Paris" and body["shown_service_level"] == "sl"


def test_a_supervisor_sees_only_their_queues(client: TestClient) -> None:
    reply = get(client, "/api/reports/history", SUPPORT_ONLY, group_by="queue", **HOUR)
    assert [row["key"] for row in reply.json()["rows"]] == ["support"]
    refused = get(client, "/api/reports/history", SUPPORT_ONLY, queue="sales", **HOUR)
    assert refused.status_code == 403
    live = get(client, "/api/reports/realtime", SUPPORT_ONLY).json()
    assert [q["name"] for q in live["queues"]] == ["support"]
    assert get(client, "/api/reports/history", AGENT).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2025-03-03T10:00:00", "until": "2025-03-03T11:00:00Z"}, "since"),
        ({"since": "2025-03-03T10:00:00Z", "until": "2025-03-03T09:00:00Z"}, "since"),
        ({"from_day": "2025-01-01", "to_day": "2025-06-01"}, "from_day"),
        ({"from_day": "2025-03-03", "since": "2025-03-03T10:00:00Z"}, "from_day"),
    ],
)
def test_a_bad_period_is_refused_with_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    reply = get(client, "/api/reports/history", **params)
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == field
