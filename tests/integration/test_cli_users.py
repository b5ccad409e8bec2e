"""``callcenter users add``: outside demo mode nobody can log in until an
operator makes the first admin, so the command must make one that can log in,
refuse what the API would refuse, and never overwrite an existing account."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from callcenter.cli import app
from callcenter.db.audit import AuditTrail
from callcenter.db.migrate import run_migrations
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.users import authenticate
from callcenter.ports import Principal, Role


@pytest.fixture
def migrated(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    run_migrations(db_url)
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", db_url)
    monkeypatch.setenv("CALLCENTER_DEMO", "false")
    return db_url


def _log_in(url: str, username: str, password: str) -> Principal | None:
    async def run() -> Principal | None:
        engine = make_engine(url)
        try:
            return await authenticate(make_session_factory(engine), username, password)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _audit_actions(url: str) -> list[tuple[str, str, str]]:
    async def run() -> list[tuple[str, str, str]]:
        engine = make_engine(url)
        try:
            events = await AuditTrail(make_session_factory(engine)).recent()
        finally:
            await engine.dispose()
        return [(e.username, e.action, e.target) for e in events]

    return asyncio.run(run())


def test_the_first_admin_is_created_and_can_log_in(migrated: str) -> None:
    result = CliRunner().invoke(
        app,
        ["users", "add", "ops", "--role", "admin", "--role", "supervisor", "--password-stdin"],
        input="a-long-admin-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "ops created with roles admin, supervisor" in result.output

    principal = _log_in(migrated, "ops", "a-long-admin-password")
    assert principal is not None
    assert principal.roles == frozenset({Role.ADMIN, Role.SUPERVISOR})
    assert _log_in(migrated, "ops", "another-password") is None
    assert ("(command line)", "user.created", "ops") in _audit_actions(migrated)


def test_the_prompt_asks_twice_and_never_echoes_the_password(migrated: str) -> None:
    result = CliRunner().invoke(
        app, ["users", "add", "sue", "--role", "supervisor"], input="sue-password-1\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "sue-password-1" not in result.output
    assert _log_in(migrated, "sue", "sue-password-1") is not None


def test_a_taken_name_is_refused_and_the_account_keeps_its_password(migrated: str) -> None:
    runner = CliRunner()
    first = ["users", "add", "ops", "--role", "admin", "--password-stdin"]
    assert runner.invoke(app, first, input="the-first-password\n").exit_code == 0

    again = runner.invoke(app, first, input="an-attackers-password\n")

    assert again.exit_code == 1
    assert "refused: username: already taken" in again.output
    assert _log_in(migrated, "ops", "the-first-password") is not None
    assert _log_in(migrated, "ops", "an-attackers-password") is None


@pytest.mark.parametrize(
    ("arguments", "password", "field"),
    [
        (["bad name!", "--role", "admin"], "long-enough-pw", "username"),
        (["ops", "--role", "root"], "long-enough-pw", "roles.0"),
        (["ops", "--role", "admin"], "short", "password"),
    ],
)
def test_what_the_api_refuses_is_refused_with_its_field(
    migrated: str, arguments: list[str], password: str, field: str
) -> None:
    result = CliRunner().invoke(
        app, ["users", "add", *arguments, "--password-stdin"], input=password + "\n"
    )
    assert result.exit_code == 2
    assert f"refused: {field}:" in result.output
    assert password not in result.output
    assert _log_in(migrated, arguments[0], password) is None
