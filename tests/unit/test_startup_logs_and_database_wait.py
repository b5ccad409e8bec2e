"""Start-up as an operator meets it: the service waits for a database that comes
up late (with backoff, one line per try, the password never printed) and gives
up with a clear error; logs are JSON lines off a terminal, with the ids of the
call being handled on every line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.db.wait import DatabaseUnreachable, describe, wait_for_database
from callcenter.logs import configure_logging, wants_json


class Stderr:
    """What the test wrote to stderr so far (pytest's own capture of it)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def getvalue(self) -> str:
        return self._capsys.readouterr().err


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    yield Stderr(capsys)
    configure_logging(json=False)  # as the CLI leaves it; drops the JSON handler


async def test_a_database_that_comes_up_late_is_waited_for(tmp_path: Path, stderr: Stderr) -> None:
    configure_logging(json=True)
    folder = tmp_path / "not-yet"
    engine = create_async_engine(f"sqlite+aiosqlite:///{folder / 'cc.db'}")

    async def comes_up() -> None:
        await asyncio.sleep(0.6)
        folder.mkdir()

    try:
        await asyncio.gather(wait_for_database(engine, 30), comes_up())
    finally:
        await engine.dispose()
    lines = [json.loads(line) for line in stderr.getvalue().splitlines()]
    retries = [line for line in lines if line["event"] == "database not reachable yet, retrying"]
    assert retries and retries[0]["attempt"] == 1
    assert lines[-1]["event"] == "database reachable" and lines[-1]["attempts"] > 1


async def test_an_unreachable_database_fails_clearly_without_its_password(
    stderr: Stderr,
) -> None:
    configure_logging(json=True)
    engine = create_async_engine("postgresql+asyncpg://cc:s3cr3t-pw@127.0.0.1:1/calls")
    try:
        with pytest.raises(DatabaseUnreachable) as refused:
            await wait_for_database(engine, 0.5)
    finally:
        await engine.dispose()
    assert "postgresql 127.0.0.1:1/calls" in str(refused.value)
    assert "s3cr3t-pw" not in str(refused.value) + stderr.getvalue()
    assert describe(engine) == "postgresql 127.0.0.1:1/calls"


def test_logs_are_json_off_a_terminal_and_console_lines_on_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert wants_json(None) is True
    monkeypatch.setattr("sys.stderr", Terminal())
    assert wants_json(None) is False
    assert wants_json(True) is True and wants_json(False) is False


def test_structlog_and_standard_library_lines_share_the_json_and_the_bound_ids(
    stderr: Stderr,
) -> None:
    configure_logging(json=None)
    with structlog.contextvars.bound_contextvars(call_id="c42", agent_id=7):
        structlog.get_logger("callcenter.test").warning("offer not placed", leg_id="l1")
        logging.getLogger("uvicorn.error").warning("a library's line")
    ours, theirs = (json.loads(line) for line in stderr.getvalue().splitlines())
    assert (ours["event"], ours["call_id"], ours["agent_id"], ours["leg_id"]) == (
        "offer not placed", "c42", 7, "l1",
    )  # fmt: skip
    assert (theirs["event"], theirs["call_id"], theirs["logger"]) == (
        "a library's line", "c42", "uvicorn.error",
    )  # fmt: skip
    assert ours["level"] == theirs["level"] == "warning"
