"""`callcenter replay` of every real Asterisk 22 capture gives the expected outcomes.

A key absent from an expected line is not asserted (08 has no ``ended_by``); every
other key, the order of calls and the order of offers are.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.replay import main_lines, replay_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
CAPTURES = sorted(FIXTURES.glob("*.ami"))


def _expected(capture: Path) -> list[dict[str, object]]:
    text = capture.with_suffix(".expected.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_capture_has_its_expected_file() -> None:
    assert len(CAPTURES) >= 14
    for capture in CAPTURES:
        assert capture.with_suffix(".expected.jsonl").is_file()


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_replay_concludes_what_the_capture_shows(capture: Path) -> None:
    expected = _expected(capture)
    got = replay_file(capture)
    assert [c["linkedid"] for c in got] == [c["linkedid"] for c in expected]
    for call, want in zip(got, expected, strict=True):
        assert {key: call.get(key) for key in want} == want
        assert call["outcome"] in ("answered", "abandoned")
        assert ("abandon_phase" in call) == (call["outcome"] == "abandoned")
        assert ("agent" in call) == (call["outcome"] == "answered")


def test_the_error_capture_has_no_calls() -> None:
    assert replay_file(FIXTURES / "11-errors.ami") == []


def test_printed_lines_are_the_expected_json_lines() -> None:
    capture = FIXTURES / "02-agent-no-answer.ami"
    lines = list(main_lines(capture))
    assert lines == capture.with_suffix(".expected.jsonl").read_text().splitlines()


def test_a_capture_without_its_actions_file_still_finds_the_calls(tmp_path: Path) -> None:
    capture = tmp_path / "01-happy-path.ami"
    capture.write_bytes((FIXTURES / "01-happy-path.ami").read_bytes())
    (call,) = replay_file(capture)
    # Without the Originates we cannot know which channel was an offer, so the
    # leg is never mistaken for a call of its own and no agent is invented.
    assert call["linkedid"] == "pbx1-1795387815.0"
    assert call["offers"] == []


def _tcp_read_sizes(seed: int) -> Iterator[int]:
    """Read sizes from 1 byte to 64 KiB, spread on a log scale like real reads."""
    rng = random.Random(seed)
    while True:
        yield int(2 ** rng.uniform(0, 16))


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_any_tcp_chunking_concludes_the_same(capture: Path, seed: int) -> None:
    assert replay_file(capture, read_sizes=_tcp_read_sizes(seed)) == replay_file(capture)
