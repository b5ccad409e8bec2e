"""`callcenter bench pop` pushes pops to real websocket clients and prints
figures a script can read (times are not asserted, only that they exist)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callcenter.bench.pop import run, sample_pop, slow_count
from callcenter.cli import app


def test_bench_pop_delivers_every_pop_to_the_reading_clients_and_prints_json() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "pop", "--json", "--clients", "12", "--rate", "24", "--seconds", "1",
         "--slow-share", "0.25"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["clients"] == 12 and figures["connect_failures"] == 0
    # Every pop reached its page, in both runs; nobody reading was closed.
    assert figures["received"] == figures["sent"] == 24
    assert figures["received_with_slow_client"] == figures["sent_to_reading_with_slow_client"]
    assert figures["reading_clients_closed"] == 0
    # Three pages stopped reading; what was pushed to them was still waiting there.
    assert figures["slow_clients"] == 3 and figures["sent_to_slow_clients"] == 6
    assert figures["slow_pops_unread"] == figures["sent_to_slow_clients"]
    assert figures["max_ms"] >= figures["p99_ms"] >= figures["p50_ms"] > 0
    assert figures["p99_ms_with_slow_client"] > 0


def test_the_pop_under_test_is_a_realistic_one() -> None:
    pop = sample_pop()
    assert pop["customer"]["name"] and len(pop["open_cases"]) == 3
    assert 2_000 < len(json.dumps(pop)) < 8_000


def test_slow_clients_are_a_share_but_at_least_one() -> None:
    assert (slow_count(2000, 0.01), slow_count(10, 0.01), slow_count(10, 0.0)) == (20, 1, 0)


def test_bad_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="clients >= 1"):
        run(clients=0, rate=10, seconds=1)
