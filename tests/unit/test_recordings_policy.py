"""Which calls are recorded: all, none, or a deterministic sample."""

from __future__ import annotations

import pytest

from recordings import should_record

IDS = [f"c{n:06d}" for n in range(10_000)]


def test_all_and_none() -> None:
    assert all(should_record("all", 0, call) for call in IDS[:100])
    assert not any(should_record("none", 100, call) for call in IDS[:100])


def test_the_same_call_always_gets_the_same_answer() -> None:
    first = [should_record("sample", 30, call) for call in IDS]
    again = [should_record("sample", 30.0, call) for call in IDS]
    assert first == again


@pytest.mark.parametrize("percent", [5, 30, 50, 87.5])
def test_the_sample_is_close_to_its_percentage(percent: float) -> None:
    share = sum(should_record("sample", percent, call) for call in IDS) / len(IDS)
    assert abs(share - percent / 100) < 0.02


def test_a_larger_sample_includes_the_smaller_one() -> None:
    small = {call for call in IDS if should_record("sample", 10, call)}
    large = {call for call in IDS if should_record("sample", 40, call)}
    assert small < large


def test_zero_and_hundred_percent() -> None:
    assert not any(should_record("sample", 0, call) for call in IDS)
    assert all(should_record("sample", 100, call) for call in IDS)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown recording mode"):
        should_record("some", 50, "c1")


@pytest.mark.parametrize("percent", [-0.1, 100.1, float("nan")])
def test_a_percentage_outside_0_to_100_is_refused(percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        should_record("sample", percent, "c1")
