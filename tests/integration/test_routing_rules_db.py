"""Routing rules in the database, on SQLite and PostgreSQL: versions, the live one,
the fallback from the queues table, the seed's example, errors as field + reason,
and the ``callcenter rules`` commands."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs
from typer.testing import CliRunner

from callcenter.cli import app
from callcenter.db.migrate import run_migrations
from callcenter.db.models import Queue, RoutingRuleVersion, Skill
from callcenter.db.routing_rules import (
    RulesInvalid,
    check_rules,
    live_rules_or_default,
    load_live_rules,
    publish_rules,
    publish_rules_if_none,
    read_rules_file,
    rule_versions,
    rules_document,
)
from callcenter.db.seed import example_rules_file, seed_demo
from callcenter.db.session import make_engine, make_session_factory
from routing.rules import QueueRule, RoutingRules

Sessions = async_sessionmaker[AsyncSession]
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "routing.toml"


def _rules(*queues: str, rona_misses: int = 1) -> RoutingRules:
    return RoutingRules(
        queues=[QueueRule(name=name, skills={name: 2}) for name in queues],
        rona_misses=rona_misses,
    )


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def test_the_version_published_last_is_the_live_one(sessions: Sessions) -> None:
    assert await load_live_rules(sessions) is None
    before = datetime.now(UTC)
    first = await publish_rules(sessions, _rules("sales"), author="ana", note="first cut")
    second = await publish_rules(
        sessions, _rules("sales", "support", rona_misses=2), author="bo", note="add support"
    )
    assert (first, second) == (1, 2)

    live = await load_live_rules(sessions)
    assert live == _rules("sales", "support", rona_misses=2)
    assert await live_rules_or_default(sessions) == (live, 2)

    versions = await rule_versions(sessions)
    assert [(v.version, v.created_by, v.note) for v in versions] == [
        (2, "bo", "add support"),
        (1, "ana", "first cut"),
    ]
    for v in versions:
        assert v.published_at is not None and v.published_at.utcoffset() is not None
        assert before <= v.created_at <= v.published_at <= datetime.now(UTC)
    found = await rules_document(sessions, 1)
    assert found is not None and found[0] == 1
    assert RoutingRules.model_validate(found[1]) == _rules("sales")
    assert await rules_document(sessions, 99) is None


async def test_a_stored_document_reads_back_exactly(sessions: Sessions) -> None:
    # Hours, holidays, closed dates, targets, steps: everything survives JSON.
    rules = read_rules_file(EXAMPLE)
    version = await publish_rules(sessions, rules, author="ops")
    assert await load_live_rules(sessions) == rules
    live = await rules_document(sessions)
    assert live is not None and live[0] == version


async def test_concurrent_publishes_get_distinct_numbers(sessions: Sessions) -> None:
    publishes = (
        publish_rules(sessions, _rules("sales", rona_misses=n), author=f"a{n}") for n in range(1, 6)
    )
    versions = await asyncio.gather(*publishes)
    assert sorted(versions) == [1, 2, 3, 4, 5]
    assert [v.version for v in await rule_versions(sessions)] == [5, 4, 3, 2, 1]


async def test_publish_if_none_stores_once_even_when_raced(sessions: Sessions) -> None:
    results = await asyncio.gather(
        *(publish_rules_if_none(sessions, _rules("sales"), author="seed") for _ in range(4))
    )
    assert sorted(results, key=lambda r: r or 0) == [None, None, None, 1]
    assert await publish_rules_if_none(sessions, _rules("support"), author="seed") is None
    assert await load_live_rules(sessions) == _rules("sales")


async def test_without_published_rules_each_queue_routes_by_its_skill(sessions: Sessions) -> None:
    # A fresh database: nothing to route, but nothing that stops a service starting.
    empty, version = await live_rules_or_default(sessions)
    assert (empty.queues, version) == ([], None)
    async with sessions.begin() as session:
        sales, billing = Skill(name="sales"), Skill(name="billing")
        session.add_all([sales, billing])
        await session.flush()
        session.add_all(
            [
                Queue(name="sales", skill_id=sales.id, ring_timeout_s=12, did="100"),
                Queue(name="billing", skill_id=billing.id, ring_timeout_s=20, did="300"),
            ]
        )
    with capture_logs() as logs:
        rules, version = await live_rules_or_default(sessions)
    assert version is None
    assert [(q.name, q.skills, q.ring_timeout_s) for q in rules.queues] == [
        ("sales", {"sales": 1}, 12.0),
        ("billing", {"billing": 1}, 20.0),
    ]
    assert any(e["log_level"] == "warning" and "no routing rules" in e["event"] for e in logs)
    # The service polls: the same warning is not repeated on every poll.
    with capture_logs() as again:
        assert await live_rules_or_default(sessions) == (rules, None)
    assert again == []
    assert await load_live_rules(sessions) is None


async def test_a_live_version_that_no_longer_validates_falls_back_to_the_one_before(
    sessions: Sessions,
) -> None:
    await publish_rules(sessions, _rules("sales"), author="ana")
    # As if the code's rules grew stricter after version 2 was stored.
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await session.execute(
            insert(RoutingRuleVersion).values(
                version=2, document=json.dumps({"queues": [], "rona_misses": 0}),
                created_at=now, created_by="old", note="", published_at=now,
            )
        )  # fmt: skip
    with pytest.raises(RulesInvalid) as refused:
        await load_live_rules(sessions)
    assert {e["field"] for e in refused.value.errors} == {"queues", "rona_misses"}
    with capture_logs() as logs:
        assert await live_rules_or_default(sessions) == (_rules("sales"), 1)
    assert any(e["log_level"] == "error" and e.get("version") == 2 for e in logs)


async def test_the_seed_publishes_the_example_rules_exactly_once(sessions: Sessions) -> None:
    first = await seed_demo(sessions, customers=0, agents=3)
    second = await seed_demo(sessions, customers=0, agents=3)
    assert first.rule_versions == second.rule_versions == 1
    versions = await rule_versions(sessions)
    assert [(v.version, v.created_by) for v in versions] == [(1, "seed")]
    assert await live_rules_or_default(sessions) == (read_rules_file(EXAMPLE), 1)
    # An admin's later version is never replaced or joined by the example.
    await publish_rules(sessions, _rules("sales", "support", "billing"), author="admin")
    await seed_demo(sessions, customers=0, agents=3)
    assert [v.version for v in await rule_versions(sessions)] == [2, 1]
    assert await load_live_rules(sessions) == _rules("sales", "support", "billing")


def test_the_seed_finds_the_example_rules_from_the_checkout() -> None:
    found = example_rules_file()
    assert found is not None and found.resolve() == EXAMPLE


def _q(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "skills": {"x": 3}, **extra}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"queues": [_q("a", steps=[{"after_s": 30}, {"after_s": 10}])]},
            {"field": "queues.0.steps.1.after_s", "reason": "steps must be in increasing time"},
        ),
        (
            {"queues": [_q("a"), _q("b", max_wait_s=60, overflow="queue:x")]},
            {"field": "queues.1.overflow", "reason": "no queue named 'x'"},
        ),
        (
            {"queues": [_q("a", steps=[{"after_s": 5, "min_proficiency": 4}])]},
            {"field": "queues.0.steps.0.min_proficiency",
             "reason": "steps may only relax the minimum (4 > 3)"},
        ),
        (
            {"queues": [_q("a", hours={"timezone": "Mars/Olympus"})]},
            {"field": "queues.0.hours.timezone", "reason": "unknown time zone 'Mars/Olympus'"},
        ),
        (
            {"queues": [_q("a", ring_timout_s=5)]},
            {"field": "queues.0.ring_timout_s", "reason": "Extra inputs are not permitted"},
        ),
        (
            {"queues": [_q("a", max_wait_s=9, overflow="queue:b"),
                        _q("b", max_wait_s=9, overflow="queue:a")]},
            {"field": "", "reason": "overflow targets form a loop: a -> b -> a"},
        ),
    ],
)  # fmt: skip
def test_validation_errors_name_the_field_and_the_reason(
    document: dict[str, object], expected: dict[str, str]
) -> None:
    with pytest.raises(RulesInvalid) as refused:
        check_rules(document)
    assert refused.value.errors == [expected]


def test_a_file_that_is_not_toml_is_refused_like_any_invalid_rules(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[[queues]\nname = ", encoding="utf-8")
    with pytest.raises(RulesInvalid) as refused:
        read_rules_file(path)
    assert refused.value.errors[0]["field"] == ""
    assert refused.value.errors[0]["reason"].startswith("not valid TOML")


BAD_RULES = """
[[queues]]
name = "sales"
skills = { sales = 3 }

[[queues.steps]]
after_s = 60
min_proficiency = 1

[[queues.steps]]
after_s = 30
"""


def test_cli_validate_refuses_a_bad_file_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_RULES, encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 1, result.output
    assert "queues.0.steps.1.after_s: steps must be in increasing time" in result.output

    good = CliRunner().invoke(app, ["rules", "validate", str(EXAMPLE)])
    assert good.exit_code == 0, good.output
    assert "valid" in good.output


async def test_cli_publishes_lists_and_shows_versions(
    sessions: Sessions, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", db_url)
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, ["rules", *args])
        return result.exit_code, result.output

    # The CLI runs its own event loop, so it goes on a thread of its own.
    assert await asyncio.to_thread(cli, "show") == (1, "no rules published\n")
    code, out = await asyncio.to_thread(
        cli, "publish", str(EXAMPLE), "--author", "ops", "--note", "the example"
    )
    assert code == 0 and "published version 1" in out, out

    shown = tmp_path / "live.json"
    code, out = await asyncio.to_thread(cli, "show")
    assert code == 0, out
    shown.write_text(out, encoding="utf-8")
    assert read_rules_file(shown) == read_rules_file(EXAMPLE)
    code, out = await asyncio.to_thread(cli, "publish", str(shown), "--note", "round trip")
    assert code == 0 and "published version 2" in out, out

    code, out = await asyncio.to_thread(cli, "versions")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["2", "live"] and lines[0].endswith("round trip")
    assert lines[1].split()[0] == "1" and "ops" in lines[1] and "the example" in lines[1]
    assert (await asyncio.to_thread(cli, "show", "--version", "7"))[0] == 1
    assert len(await rule_versions(sessions)) == 2
