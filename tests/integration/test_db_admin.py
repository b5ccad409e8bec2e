"""The admin's database layer on SQLite and PostgreSQL: directory edits and the
conflicts a form shows (never an IntegrityError, a race included), the last
admin kept, reason and disposition codes, the demo seed's additions, and the
recorded traffic a what-if replays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from callcenter.db import directory_admin as directory
from callcenter.db.admin_errors import Conflict, NotFound
from callcenter.db.codes import (
    DispositionCode,
    ReasonCode,
    delete_disposition_code,
    delete_reason_code,
    list_disposition_codes,
    list_reason_codes,
    put_disposition_code,
    put_reason_code,
)
from callcenter.db.migrate import run_migrations
from callcenter.db.models import (
    AgentSkill,
    AgentStateChange,
    CallOffer,
    CallRecord,
    Customer,
    SupervisorQueue,
    User,
)
from callcenter.db.seed import seed_demo
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.db.users import authenticate
from callcenter.db.whatif_history import load_history

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def conflict(exc: pytest.ExceptionInfo[Conflict]) -> tuple[str, str]:
    return exc.value.field, exc.value.reason


# -- skills -------------------------------------------------------------------


async def test_skills_are_created_listed_and_deleted_only_when_unused(sessions: Sessions) -> None:
    support = await directory.create_skill(sessions, "support")
    sales = await directory.create_skill(sessions, "sales")
    assert await directory.list_skills(sessions) == [sales, support]  # by name
    with pytest.raises(Conflict) as taken:
        await directory.create_skill(sessions, "sales")
    assert conflict(taken) == ("name", "already taken")

    queue = await directory.create_queue(sessions, "inbound", "sales")
    with pytest.raises(Conflict) as by_queue:
        await directory.delete_skill(sessions, sales.id)
    assert conflict(by_queue) == ("skill", "used by queue 'inbound'")
    await directory.delete_queue(sessions, queue.id)

    ann = await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann", skills={"sales": 2})
    with pytest.raises(Conflict) as by_agents:
        await directory.delete_skill(sessions, sales.id)
    assert by_agents.value.field == "skill" and "1 agent" in by_agents.value.reason
    await directory.update_agent(sessions, ann.id, skills={})

    await directory.delete_skill(sessions, sales.id)
    assert await directory.list_skills(sessions) == [support]
    with pytest.raises(NotFound) as gone:
        await directory.delete_skill(sessions, sales.id)
    assert gone.value.what == f"skill {sales.id}"


# -- agents -------------------------------------------------------------------


async def test_an_agent_round_trips_with_its_skills(sessions: Sessions) -> None:
    for skill in ("sales", "billing"):
        await directory.create_skill(sessions, skill)
    ann = await directory.create_agent(
        sessions,
        "ann",
        "Ann Lee",
        "PJSIP/ann",
        "home",
        "pbx2",
        {"sales": 4, "billing": 1},
    )
    assert ann == directory.AgentRecord(
        id=ann.id,
        login="ann",
        name="Ann Lee",
        dial_string="PJSIP/ann",
        location="home",
        pbx="pbx2",
        skills={"billing": 1, "sales": 4},
    )
    bob = await directory.create_agent(
        sessions, login="bob", name="Bob", dial_string="PJSIP/bob", location="on_site", pbx="pbx1"
    )
    assert bob.skills == {}
    assert await directory.get_agent(sessions, ann.id) == ann
    assert [a.login for a in await directory.list_agents(sessions)] == ["ann", "bob"]

    renamed = await directory.update_agent(sessions, ann.id, name="Ann Lee-Smith")
    assert renamed == directory.AgentRecord(**{**asdict(ann), "name": "Ann Lee-Smith"})
    moved = await directory.update_agent(
        sessions,
        ann.id,
        dial_string="PJSIP/ann-home",
        location="remote_site",
        pbx="pbx1",
        skills={"sales": 5},
    )
    assert (moved.dial_string, moved.location, moved.pbx, moved.skills) == (
        "PJSIP/ann-home",
        "remote_site",
        "pbx1",
        {"sales": 5},
    )
    assert (await directory.update_agent(sessions, ann.id, skills={})).skills == {}


async def test_agent_edits_are_refused_with_the_field_to_blame(sessions: Sessions) -> None:
    await directory.create_skill(sessions, "sales")
    ann = await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann", skills={"sales": 3})

    with pytest.raises(Conflict) as login:
        await directory.create_agent(sessions, "ann", "Other Ann", "PJSIP/x")
    assert conflict(login) == ("login", "already taken")
    with pytest.raises(Conflict) as unknown:
        await directory.create_agent(
            sessions, "bob", "Bob", "PJSIP/bob", skills={"sales": 2, "french": 2}
        )
    assert conflict(unknown) == ("skills.french", "no such skill")
    with pytest.raises(Conflict) as too_good:
        await directory.create_agent(sessions, "bob", "Bob", "PJSIP/bob", skills={"sales": 6})
    assert too_good.value.field == "skills.sales"
    with pytest.raises(Conflict) as where:
        await directory.create_agent(sessions, "bob", "Bob", "PJSIP/bob", location="moon")
    assert where.value.field == "location"
    assert [a.login for a in await directory.list_agents(sessions)] == ["ann"]

    with pytest.raises(Conflict) as unknown_on_update:
        await directory.update_agent(sessions, ann.id, name="Ann B", skills={"german": 3})
    assert conflict(unknown_on_update) == ("skills.german", "no such skill")
    with pytest.raises(Conflict) as zero:
        await directory.update_agent(sessions, ann.id, skills={"sales": 0})
    assert zero.value.field == "skills.sales"
    assert await directory.get_agent(sessions, ann.id) == ann  # nothing half-applied

    with pytest.raises(NotFound) as missing:
        await directory.update_agent(sessions, 9999, name="x")
    assert missing.value.what == "agent 9999"
    with pytest.raises(NotFound):
        await directory.get_agent(sessions, 9999)
    with pytest.raises(NotFound):
        await directory.delete_agent(sessions, 9999)


@pytest.mark.parametrize("history", ["state change", "call", "leg"])
async def test_an_agent_with_history_cannot_be_deleted(sessions: Sessions, history: str) -> None:
    ann = await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann")
    async with sessions.begin() as session:
        if history == "state change":
            session.add(AgentStateChange(agent_id=ann.id, state="ready", reason=None, at=T0))
        else:
            session.add(
                CallRecord(
                    id="c1",
                    pbx="pbx1",
                    linkedid="1",
                    queue="sales",
                    caller_number="+3310",
                    enqueued_at=T0,
                    agent_id=ann.id if history == "call" else None,
                )
            )
            await session.flush()
            if history == "leg":
                session.add(
                    CallOffer(
                        call_id="c1",
                        leg_id="c1-leg",
                        agent_id=ann.id,
                        agent_target="PJSIP/ann",
                        offered_at=T0,
                    )
                )
    with pytest.raises(Conflict) as kept:
        await directory.delete_agent(sessions, ann.id)
    assert kept.value.field == "agent" and kept.value.reason.startswith("has call history")
    assert await directory.get_agent(sessions, ann.id) == ann


async def test_deleting_an_agent_takes_its_skills_and_unlinks_its_user(sessions: Sessions) -> None:
    await directory.create_skill(sessions, "sales")
    bo = await directory.create_agent(sessions, "bo", "Bo", "PJSIP/bo", skills={"sales": 3})
    user = await directory.create_user(sessions, "bo", "bo-password", ["agent"], agent_id=bo.id)
    assert user.agent_id == bo.id

    await directory.delete_agent(sessions, bo.id)

    assert await directory.list_agents(sessions) == []
    assert (await directory.get_user(sessions, user.id)).agent_id is None
    async with sessions() as session:
        assert list(await session.scalars(select(AgentSkill))) == []


# -- queues -------------------------------------------------------------------


async def test_queues_round_trip_and_refuse_taken_names_and_dids(sessions: Sessions) -> None:
    for skill in ("sales", "support"):
        await directory.create_skill(sessions, skill)
    sales = await directory.create_queue(sessions, "sales", "sales", 20, "100")
    assert sales == directory.QueueRecord(sales.id, "sales", "sales", 20, "100")
    support = await directory.create_queue(sessions, name="support", skill="support")
    assert (support.ring_timeout_s, support.did) == (15, None)
    assert await directory.list_queues(sessions) == [sales, support]
    assert await directory.get_queue(sessions, sales.id) == sales

    with pytest.raises(Conflict) as name:
        await directory.create_queue(sessions, "sales", "support")
    assert conflict(name) == ("name", "already taken")
    with pytest.raises(Conflict) as did:
        await directory.create_queue(sessions, "other", "sales", did="100")
    assert conflict(did) == ("did", "already taken")
    with pytest.raises(Conflict) as skill:
        await directory.create_queue(sessions, "other", "french")
    assert conflict(skill) == ("skill", "no such skill")

    same = await directory.update_queue(sessions, sales.id, did="100")  # its own DID
    assert same == sales
    with pytest.raises(Conflict) as did_taken:
        await directory.update_queue(sessions, support.id, did="100")
    assert conflict(did_taken) == ("did", "already taken")
    with pytest.raises(Conflict) as no_skill:
        await directory.update_queue(sessions, support.id, skill="french")
    assert conflict(no_skill) == ("skill", "no such skill")
    edited = await directory.update_queue(
        sessions, support.id, skill="sales", ring_timeout_s=30, did="200"
    )
    assert edited == directory.QueueRecord(support.id, "support", "sales", 30, "200")
    assert (await directory.update_queue(sessions, support.id, ring_timeout_s=10)).did == "200"
    assert (await directory.update_queue(sessions, support.id, did=None)).did is None
    with pytest.raises(NotFound) as missing:
        await directory.update_queue(sessions, 9999, ring_timeout_s=10)
    assert missing.value.what == "queue 9999"
    with pytest.raises(NotFound):
        await directory.get_queue(sessions, 9999)

    sue = await directory.create_user(
        sessions, "sue", "sue-password", ["supervisor"], None, ["sales", "support"]
    )
    await directory.delete_queue(sessions, sales.id)
    assert await directory.list_queues(sessions) == [
        directory.QueueRecord(support.id, "support", "sales", 10, None)
    ]
    assert (await directory.get_user(sessions, sue.id)).queues == ["support"]
    with pytest.raises(NotFound):
        await directory.delete_queue(sessions, sales.id)


# -- users --------------------------------------------------------------------


async def test_users_round_trip_without_their_password(sessions: Sessions) -> None:
    await directory.create_skill(sessions, "sales")
    for name in ("sales", "billing"):
        await directory.create_queue(sessions, name, "sales")
    ann = await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann")

    sue = await directory.create_user(
        sessions,
        "sue",
        "sue-password",
        ["supervisor", "agent", "agent"],
        ann.id,
        ["sales", "billing"],
    )
    assert sue == directory.UserRecord(
        id=sue.id,
        username="sue",
        roles=["agent", "supervisor"],
        agent_id=ann.id,
        queues=["billing", "sales"],
    )
    assert "sue-password" not in repr(sue) and "argon2" not in repr(sue)
    async with sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == sue.id))
    assert stored is not None and stored.startswith("$argon2") and "sue-password" not in stored
    assert await directory.get_user(sessions, sue.id) == sue
    assert await directory.supervised_queues(sessions, sue.id) == frozenset({"sales", "billing"})

    root = await directory.create_user(sessions, username="root", password="pw", roles=["admin"])
    assert root.queues == [] and root.agent_id is None
    assert await directory.supervised_queues(sessions, root.id) == frozenset()
    assert [u.username for u in await directory.list_users(sessions)] == ["root", "sue"]
    assert (await directory.list_users(sessions))[1] == sue

    # agent_id left out: unchanged; None: unlinked
    kept = await directory.update_user(sessions, sue.id, queues=["sales"])
    assert (kept.agent_id, kept.queues) == (ann.id, ["sales"])
    unlinked = await directory.update_user(sessions, sue.id, agent_id=None, roles=["supervisor"])
    assert (unlinked.agent_id, unlinked.roles) == (None, ["supervisor"])
    relinked = await directory.update_user(sessions, sue.id, agent_id=ann.id)
    assert relinked.agent_id == ann.id

    principal = await authenticate(sessions, "sue", "sue-password")
    assert principal is not None and principal.queues == frozenset({"sales"})
    cleared = await directory.update_user(sessions, sue.id, queues=[])
    assert cleared.queues == []
    everyone = await authenticate(sessions, "sue", "sue-password")
    assert everyone is not None and everyone.queues is None
    await directory.update_user(sessions, sue.id, password="a-new-password")
    assert await authenticate(sessions, "sue", "sue-password") is None
    assert await authenticate(sessions, "sue", "a-new-password") is not None

    await directory.delete_user(sessions, sue.id)
    assert [u.username for u in await directory.list_users(sessions)] == ["root"]
    async with sessions() as session:
        assert list(await session.scalars(select(SupervisorQueue))) == []
    with pytest.raises(NotFound) as gone:
        await directory.get_user(sessions, sue.id)
    assert gone.value.what == f"user {sue.id}"
    for call in (
        directory.update_user(sessions, sue.id, roles=["agent"]),
        directory.delete_user(sessions, sue.id),
    ):
        with pytest.raises(NotFound):
            await call


async def test_user_edits_are_refused_with_the_field_to_blame(sessions: Sessions) -> None:
    await directory.create_skill(sessions, "sales")
    await directory.create_queue(sessions, "sales", "sales")
    ann = await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann")
    bob = await directory.create_agent(sessions, "bob", "Bob", "PJSIP/bob")
    ann_user = await directory.create_user(sessions, "ann", "pw", ["agent"], agent_id=ann.id)

    refusals: list[tuple[Callable[[], Awaitable[Any]], tuple[str, str]]] = [
        (
            lambda: directory.create_user(sessions, "ann", "pw", ["agent"]),
            ("username", "already taken"),
        ),
        (
            lambda: directory.create_user(sessions, "x", "pw", ["agent"], agent_id=9999),
            ("agent_id", "no such agent"),
        ),
        (
            lambda: directory.create_user(sessions, "x", "pw", ["agent"], agent_id=ann.id),
            ("agent_id", "already linked to user 'ann'"),
        ),
        (
            lambda: directory.create_user(
                sessions, "x", "pw", ["supervisor"], queues=["sales", "nowhere"]
            ),
            ("queues.nowhere", "no such queue"),
        ),
        (
            lambda: directory.update_user(sessions, ann_user.id, agent_id=9999),
            ("agent_id", "no such agent"),
        ),
        (
            lambda: directory.update_user(sessions, ann_user.id, queues=["nowhere"]),
            ("queues.nowhere", "no such queue"),
        ),
    ]
    for call, expected in refusals:
        with pytest.raises(Conflict) as refused:
            await call()
        assert conflict(refused) == expected
    with pytest.raises(Conflict) as role:
        await directory.create_user(sessions, "x", "pw", ["superuser"])
    assert role.value.field == "roles"

    bob_user = await directory.create_user(sessions, "bob", "pw", ["agent"], agent_id=bob.id)
    with pytest.raises(Conflict) as linked:
        await directory.update_user(sessions, bob_user.id, agent_id=ann.id)
    assert conflict(linked) == ("agent_id", "already linked to user 'ann'")
    assert [u.username for u in await directory.list_users(sessions)] == ["ann", "bob"]
    assert (await directory.get_user(sessions, bob_user.id)).agent_id == bob.id


async def test_the_last_admin_keeps_the_role_and_the_account(sessions: Sessions) -> None:
    root = await directory.create_user(sessions, "root", "pw", ["admin", "supervisor"])
    sue = await directory.create_user(sessions, "sue", "pw", ["supervisor"])
    with pytest.raises(Conflict) as demoted:
        await directory.update_user(sessions, root.id, roles=["supervisor"])
    assert conflict(demoted) == ("roles", "the last admin cannot lose the admin role")
    with pytest.raises(Conflict) as deleted:
        await directory.delete_user(sessions, root.id)
    assert conflict(deleted) == ("user", "the last admin cannot be deleted")
    assert (await directory.get_user(sessions, root.id)).roles == ["admin", "supervisor"]

    # other edits of the last admin are fine, and so is keeping the role
    await directory.update_user(sessions, root.id, roles=["admin"], password="pw2")
    await directory.delete_user(sessions, sue.id)  # not an admin

    ada = await directory.create_user(sessions, "ada", "pw", ["admin"])
    await directory.update_user(sessions, root.id, roles=["supervisor"])  # ada is one
    with pytest.raises(Conflict):
        await directory.update_user(sessions, ada.id, roles=[])
    await directory.update_user(sessions, root.id, roles=["admin"])
    await directory.delete_user(sessions, ada.id)
    with pytest.raises(Conflict):
        await directory.delete_user(sessions, root.id)


async def test_two_admins_removed_at_once_leave_one_admin(sessions: Sessions) -> None:
    for round_ in range(4):
        ada = await directory.create_user(sessions, f"ada{round_}", "pw", ["admin"])
        bea = await directory.create_user(sessions, f"bea{round_}", "pw", ["admin"])
        remove_bea = (
            directory.delete_user(sessions, bea.id)
            if round_ % 2
            else directory.update_user(sessions, bea.id, roles=["agent"])
        )
        results = await asyncio.gather(
            directory.update_user(sessions, ada.id, roles=["agent"]),
            remove_bea,
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], Conflict), results
        admins = [u for u in await directory.list_users(sessions) if "admin" in u.roles]
        assert len(admins) == 1, results
        # the next round starts with no admin at all
        async with sessions.begin() as session:
            await session.execute(delete(SupervisorQueue))
            await session.execute(delete(User))


def skip_first_call(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The check ``name`` passes the first time (as if a concurrent edit had not
    committed yet), so the write meets the database's own constraint."""
    real: Callable[..., Awaitable[None]] = getattr(directory, name)
    calls = 0

    async def racing(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            await real(*args)

    monkeypatch.setattr(directory, name, racing)


async def test_a_race_past_the_checks_still_ends_in_the_conflict(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    await directory.create_skill(sessions, "sales")
    await directory.create_queue(sessions, "sales", "sales", did="100")
    await directory.create_agent(sessions, "ann", "Ann", "PJSIP/ann")
    await directory.create_user(sessions, "ann", "pw", ["agent"])

    racing: list[tuple[str, Callable[[], Awaitable[Any]], tuple[str, str]]] = [
        (
            "_skill_name_free",
            lambda: directory.create_skill(sessions, "sales"),
            ("name", "already taken"),
        ),
        (
            "_login_free",
            lambda: directory.create_agent(sessions, "ann", "A", "PJSIP/a"),
            ("login", "already taken"),
        ),
        (
            "_queue_name_free",
            lambda: directory.create_queue(sessions, "sales", "sales"),
            ("name", "already taken"),
        ),
        (
            "_did_free",
            lambda: directory.create_queue(sessions, "other", "sales", did="100"),
            ("did", "already taken"),
        ),
        (
            "_username_free",
            lambda: directory.create_user(sessions, "ann", "pw", ["agent"]),
            ("username", "already taken"),
        ),
    ]
    for check, call, expected in racing:
        with monkeypatch.context() as patch:
            skip_first_call(patch, check)
            with pytest.raises(Conflict) as refused:
                await call()
        assert conflict(refused) == expected, check


# -- codes --------------------------------------------------------------------


async def test_reason_codes_are_upserted_listed_and_deleted(sessions: Sessions) -> None:
    assert await put_reason_code(sessions, ReasonCode("training", "Training", productive=True))
    assert await put_reason_code(sessions, ReasonCode("break", "Break"))
    assert not await put_reason_code(sessions, ReasonCode("break", "Coffee", active=False))
    assert await list_reason_codes(sessions) == [
        ReasonCode("break", "Coffee", productive=False, active=False),
        ReasonCode("training", "Training", productive=True, active=True),
    ]
    assert await list_reason_codes(sessions, include_inactive=False) == [
        ReasonCode("training", "Training", productive=True)
    ]
    await delete_reason_code(sessions, "break")
    with pytest.raises(NotFound):
        await delete_reason_code(sessions, "break")
    assert [c.code for c in await list_reason_codes(sessions)] == ["training"]


async def test_disposition_codes_are_upserted_listed_and_deleted(sessions: Sessions) -> None:
    assert await put_disposition_code(sessions, DispositionCode("sale", "Sale"))
    assert await put_disposition_code(
        sessions, DispositionCode("follow_up", "Follow-up", requires_notes=True)
    )
    assert not await put_disposition_code(
        sessions, DispositionCode("sale", "Sale made", active=False)
    )
    assert await list_disposition_codes(sessions) == [
        DispositionCode("follow_up", "Follow-up", requires_notes=True, active=True),
        DispositionCode("sale", "Sale made", requires_notes=False, active=False),
    ]
    assert [c.code for c in await list_disposition_codes(sessions, include_inactive=False)] == [
        "follow_up"
    ]
    await delete_disposition_code(sessions, "sale")
    with pytest.raises(NotFound):
        await delete_disposition_code(sessions, "sale")
    assert [c.code for c in await list_disposition_codes(sessions)] == ["follow_up"]


# -- the demo seed --------------------------------------------------------------


async def test_the_seed_adds_codes_and_the_supervisors_queues_once(sessions: Sessions) -> None:
    await seed_demo(sessions, customers=5, agents=3, now=T0)
    reasons = await list_reason_codes(sessions)
    assert {c.code: c.productive for c in reasons} == {
        "break": False,
        "coaching": True,
        "lunch": False,
        "meeting": True,
        "technical_issue": False,
        "training": True,
    }
    assert all(c.active and c.label for c in reasons)
    dispositions = await list_disposition_codes(sessions)
    assert {c.code: c.requires_notes for c in dispositions} == {
        "escalated": False,
        "follow_up": True,
        "resolved": False,
        "sale": False,
        "wrong_number": False,
    }
    users = {u.username: u for u in await directory.list_users(sessions)}
    assert users["supervisor"].queues == ["billing", "sales", "support"]
    assert users["admin"].queues == []  # every queue

    # An admin's edits survive seeding again, and nothing is added twice.
    await put_reason_code(sessions, ReasonCode("break", "Short break", active=False))
    await delete_disposition_code(sessions, "wrong_number")
    supervisor = users["supervisor"].id
    await directory.update_user(sessions, supervisor, queues=["sales"])
    await seed_demo(sessions, customers=5, agents=3, now=T0)
    after = {c.code: c for c in await list_reason_codes(sessions)}
    assert len(after) == 6
    assert after["break"] == ReasonCode("break", "Short break", active=False)
    assert "wrong_number" not in {c.code for c in await list_disposition_codes(sessions)}
    assert (await directory.get_user(sessions, supervisor)).queues == ["sales"]


# -- what-if history ------------------------------------------------------------


async def test_what_if_history_reads_calls_and_logged_in_spans(sessions: Sessions) -> None:
    await directory.create_skill(sessions, "sales")
    ann = await directory.create_agent(
        sessions, login="ann", name="Ann", dial_string="PJSIP/a", skills={"sales": 3}
    )
    bob = await directory.create_agent(sessions, login="bob", name="Bob", dial_string="PJSIP/b")
    since, until = T0, T0 + timedelta(hours=1)
    async with sessions.begin() as session:
        customer = Customer(
            name="C", tier="gold", lifetime_value=1234, account_number="A1", created_at=T0
        )
        session.add(customer)
        await session.flush()
        for agent_id, state, minutes in (
            (ann.id, "ready", -30),  # logged in before the period
            (ann.id, "on_call", 5),
            (ann.id, "logged_out", 40),
            (bob.id, "not_ready", 10),  # logged in during it, never out
            (bob.id, "logged_out", -50),
        ):
            at = T0 + timedelta(minutes=minutes)
            session.add(AgentStateChange(agent_id=agent_id, state=state, reason=None, at=at))
        common = {"pbx": "pbx1", "queue": "sales", "caller_number": "+3310"}
        session.add_all(
            [
                CallRecord(
                    id="answered",
                    linkedid="1",
                    customer_id=customer.id,
                    enqueued_at=T0 + timedelta(minutes=1),
                    answered_at=T0 + timedelta(minutes=1, seconds=20),
                    ended_at=T0 + timedelta(minutes=4),
                    outcome="answered",
                    **common,
                ),
                CallRecord(
                    id="abandoned",
                    linkedid="2",
                    enqueued_at=T0 + timedelta(minutes=2),
                    ended_at=T0 + timedelta(minutes=2, seconds=45),
                    outcome="abandoned",
                    **common,
                ),
                CallRecord(
                    id="too-early",
                    linkedid="3",
                    enqueued_at=T0 - timedelta(minutes=1),
                    outcome="answered",
                    **common,
                ),
            ]
        )
    calls, shifts = await load_history(sessions, since=since, until=until)
    by_id = {c.call_id: c for c in calls}
    assert sorted(by_id) == ["abandoned", "answered"]
    assert by_id["answered"].handle_s == 160.0
    assert (by_id["answered"].tier, by_id["answered"].lifetime_value) == ("gold", 1234.0)
    assert by_id["answered"].patience_s is None
    assert by_id["abandoned"].patience_s == 45.0 and by_id["abandoned"].handle_s is None
    spans = {(s.agent_id, s.start, s.end) for s in shifts}
    assert spans == {
        (ann.id, since.timestamp(), (T0 + timedelta(minutes=40)).timestamp()),
        (bob.id, (T0 + timedelta(minutes=10)).timestamp(), until.timestamp()),
    }
    assert next(s for s in shifts if s.agent_id == ann.id).skills == {"sales": 3}
