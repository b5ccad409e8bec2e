"""Which recordings are past their queue's retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recordings import Kept, due_for_deletion

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


def aged(recording_id: int, queue: str, days: float, seconds: float = 0) -> Kept:
    return Kept(recording_id, queue, NOW - timedelta(days=days, seconds=seconds))


def test_per_queue_retention_deletes_the_old_ones_only() -> None:
    kept = [
        aged(1, "sales", 31),
        aged(2, "sales", 29),
        aged(3, "support", 31),  # support keeps 90 days
        aged(4, "support", 91),
    ]
    assert due_for_deletion(kept, {"sales": 30, "support": 90}, None, NOW) == [4, 1]


def test_exactly_at_the_boundary_is_kept() -> None:
    kept = [aged(1, "sales", 30), aged(2, "sales", 30, seconds=1), aged(3, "sales", 30, -1)]
    assert due_for_deletion(kept, {"sales": 30}, None, NOW) == [2]


def test_a_queue_without_a_rule_takes_the_default() -> None:
    kept = [aged(1, "billing", 8), aged(2, "billing", 6), aged(3, "sales", 8)]
    assert due_for_deletion(kept, {"sales": 30}, 7, NOW) == [1]


def test_without_a_default_unknown_queues_are_kept_forever() -> None:
    kept = [aged(1, "billing", 10_000), aged(2, "sales", 31)]
    assert due_for_deletion(kept, {"sales": 30}, None, NOW) == [2]


def test_zero_days_deletes_anything_older_than_now() -> None:
    kept = [aged(1, "pci", 0, seconds=1), Kept(2, "pci", NOW)]
    assert due_for_deletion(kept, {"pci": 0}, None, NOW) == [1]


def test_sorted_oldest_first() -> None:
    kept = [aged(5, "a", 40), aged(3, "a", 100), aged(9, "b", 60), aged(1, "a", 50)]
    assert due_for_deletion(kept, {"a": 30}, 30, NOW) == [3, 9, 1, 5]


def test_nothing_kept_nothing_due() -> None:
    assert due_for_deletion([], {"a": 1}, 1, NOW) == []


def test_a_negative_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        due_for_deletion([aged(1, "a", 1)], {"a": -1}, None, NOW)
