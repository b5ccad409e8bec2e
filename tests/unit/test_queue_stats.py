"""The wallboard's per-queue figures on hand-built outcomes."""

from __future__ import annotations

from callcenter.orchestration.queue_stats import QueueStats


def test_service_level_asa_and_abandon_rate() -> None:
    stats = QueueStats(window_s=1800, short_abandon_s=5)
    stats.answered("support", wait_s=10, threshold_s=20, at=100)
    stats.answered("support", wait_s=30, threshold_s=20, at=110)
    stats.answered("support", wait_s=20, threshold_s=20, at=120)
    stats.abandoned("support", wait_s=60, at=130)
    stats.abandoned("support", wait_s=3, at=140)  # short: left out
    figures = stats.figures("support", now=150)
    assert (figures.answered, figures.answered_within, figures.abandoned) == (3, 2, 1)
    assert figures.service_level == 2 / 3
    assert figures.asa_s == 20.0
    assert figures.abandon_rate == 1 / 4


def test_outcomes_leave_the_window() -> None:
    stats = QueueStats(window_s=60)
    stats.answered("sales", wait_s=50, threshold_s=20, at=0)
    stats.answered("sales", wait_s=5, threshold_s=20, at=30)
    assert stats.figures("sales", now=59).service_level == 0.5
    assert stats.figures("sales", now=61).service_level == 1.0
    empty = stats.figures("sales", now=200)
    assert (empty.answered, empty.service_level, empty.asa_s, empty.abandon_rate) == (
        0,
        None,
        None,
        None,
    )


def test_an_unknown_queue_has_no_figures_yet() -> None:
    figures = QueueStats().figures("nobody", now=0)
    assert figures.answered == 0 and figures.service_level is None
