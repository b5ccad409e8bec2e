"""The chaos suite's fixtures (a seeded SQLite database per scenario) and its
summary table, printed at the end of the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.chaos.summary import REPORTS, render
from tests.conftest import seed_database

_errored: list[tuple[str, ...]] = []
CUSTOMERS = 50


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data, migrated and seeded once for the whole suite."""
    path = tmp_path_factory.mktemp("chaos-template") / "callcenter.db"
    seed_database(f"sqlite+aiosqlite:///{path}", customers=CUSTOMERS)
    return path


@pytest.fixture
def chaos_db_url(_seeded_template: Path, tmp_path: Path) -> str:
    """A scenario's own copy of the seeded SQLite database."""
    for suffix in ("", "-wal", "-shm"):
        source = _seeded_template.with_name(_seeded_template.name + suffix)
        if source.exists():
            shutil.copy(source, tmp_path / source.name)
    return f"sqlite+aiosqlite:///{tmp_path / _seeded_template.name}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A scenario (``tests/chaos/test_<name>.py::test_<name>``) that failed
    before its closing check still gets a row."""
    if "tests/chaos/" not in report.nodeid or not report.failed:
        return
    path, _, test = report.nodeid.partition("::")
    name = test.removeprefix("test_")
    if path.endswith(f"/test_{name}.py") and not any(r.scenario == name for r in REPORTS):
        _errored.append((name, *([""] * 10), "ERROR"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS and not _errored:
        return
    terminalreporter.section("chaos summary")
    terminalreporter.write_line(render(REPORTS, _errored))
