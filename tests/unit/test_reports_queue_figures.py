"""Queue figures on hand-built call logs whose answers are worked out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.reports import (
    CallFact,
    LegFact,
    Period,
    ReportPolicy,
    overall_figures,
    queue_figures,
    sliding_window,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = Period(T0, T0 + timedelta(hours=8))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def answered(
    call_id: str,
    enqueued: float,
    answer: float,
    end: float | None,
    *,
    queue: str = "support",
    hold_s: float = 0.0,
    wrap_up_s: float = 0.0,
    csat: int | None = None,
    callback: bool = False,
) -> CallFact:
    return CallFact(
        call_id,
        queue,
        at(enqueued),
        "answered" if end is not None else None,
        answered_at=at(answer),
        ended_at=None if end is None else at(end),
        agent_id=1,
        hold_s=hold_s,
        wrap_up_s=wrap_up_s,
        csat=csat,
        callback=callback,
    )


def ended(
    call_id: str,
    enqueued: float,
    end: float,
    outcome: str,
    *,
    queue: str = "support",
    phase: str | None = None,
) -> CallFact:
    return CallFact(call_id, queue, at(enqueued), outcome, ended_at=at(end), abandon_phase=phase)


# Threshold 20 s, short abandons under 5 s.
LOG = [
    # wait 10 (within); talk = 120 - 20 hold = 100; handle = 100 + 20 + 10 = 130
    answered("c1", 0, 10, 130, hold_s=20, wrap_up_s=10, csat=5),
    # wait 30 (late); talk 60; handle = 60 + 30 = 90
    answered("c2", 0, 30, 90, wrap_up_s=30, csat=2),
    # wait 20: exactly the threshold counts as within; talk 120, handle 120
    answered("c3", 100, 120, 240),
    ended("c4", 0, 3, "abandoned"),  # short abandon (3 s < 5 s)
    ended("c5", 0, 15, "abandoned"),  # counted, within the threshold
    ended("c6", 0, 60, "abandoned", phase="ringing"),  # counted, late
    ended("c7", 0, 45, "voicemail"),  # other outcome
    ended("c9", 0, 50, "callback"),  # other outcome: asked to be called back
    CallFact("c8", "support", at(200), None),  # still waiting: does not count
]


def test_service_level_is_asterisks_and_sl2_counts_abandons() -> None:
    figures = overall_figures(LOG, DAY, ReportPolicy())
    assert (figures.answered, figures.answered_within) == (3, 2)  # c1, c3 within
    assert figures.service_level == 2 / 3  # within / answered
    # SL2: within / (answered + counted abandons c5, c6) = 2 / 5
    assert figures.service_level_with_abandons == 0.4


def test_short_abandons_left_out_of_the_rates() -> None:
    figures = overall_figures(LOG, DAY, ReportPolicy())
    assert (figures.abandoned, figures.short_abandons, figures.counted_abandons) == (3, 1, 2)
    assert figures.abandoned_within == 1  # c5 (15 s); c4 is short, c6 late
    assert figures.abandon_rate == 2 / 5  # counted abandons / (3 answered + 2)
    assert figures.abandoned_ringing == 1  # c6
    # offered = 3 answered + 3 abandoned + 2 other outcomes; c8 is still waiting
    assert (figures.offered, figures.other_outcomes) == (8, 2)


def test_short_abandons_counted_when_not_excluded() -> None:
    figures = overall_figures(LOG, DAY, ReportPolicy(exclude_short_abandons=False))
    assert (figures.short_abandons, figures.counted_abandons) == (1, 3)
    assert figures.abandoned_within == 2  # c4 (3 s) and c5 (15 s)
    assert figures.abandon_rate == 0.5  # 3 / (3 + 3)
    assert figures.service_level_with_abandons == 2 / 6
    assert figures.service_level == 2 / 3  # SL ignores abandons either way


def test_asa_aht_and_their_parts() -> None:
    figures = overall_figures(LOG, DAY, ReportPolicy())
    assert figures.asa_s == 20.0  # (10 + 30 + 20) / 3
    assert figures.aht_s == pytest.approx(340 / 3)  # (130 + 90 + 120) / 3
    assert figures.avg_talk_s == pytest.approx(280 / 3)  # (100 + 60 + 120) / 3
    assert figures.avg_hold_s == pytest.approx(20 / 3)
    assert figures.avg_wrap_up_s == pytest.approx(40 / 3)
    assert figures.longest_wait_s == 60.0  # c6
    assert (figures.csat_avg, figures.csat_responses) == (3.5, 2)


def test_per_queue_threshold_and_idle_queues_present() -> None:
    log = [
        answered("s1", 0, 25, 100, queue="sales"),  # 25 s: late for 20, within 30
        answered("t1", 0, 25, 100, queue="support"),
    ]
    policy = ReportPolicy(service_level_s={"sales": 30.0})
    by_queue = queue_figures(log, DAY, policy, queues=["billing"])
    assert list(by_queue) == ["billing", "sales", "support"]
    assert by_queue["sales"].service_level == 1.0
    assert by_queue["support"].service_level == 0.0
    assert by_queue["billing"].offered == 0 and by_queue["billing"].service_level is None
    assert overall_figures(log, DAY, policy).service_level == 0.5


def test_answered_call_still_connected_counts_but_has_no_handle_time_yet() -> None:
    figures = overall_figures([answered("c1", 0, 12, None)], DAY, ReportPolicy())
    assert (figures.answered, figures.asa_s, figures.aht_s) == (1, 12.0, None)


def test_transferred_call_counts_once_for_its_queue() -> None:
    call = CallFact(
        "t1",
        "support",
        at(0),
        "answered",
        answered_at=at(10),
        ended_at=at(175),
        agent_id=1,
        hold_s=5,
        wrap_up_s=15,
        legs=(
            LegFact(1, "offer", at(10), at(70), held_s=5),
            LegFact(2, "transfer", at(75), at(175)),
        ),
    )
    figures = overall_figures([call], DAY, ReportPolicy())
    assert (figures.offered, figures.answered) == (1, 1)
    # handle = whole connected time (175 - 10 = 165) + wrap-up 15
    assert figures.aht_s == 180.0
    assert figures.avg_talk_s == 160.0  # 165 - 5 hold


def test_callback_request_is_another_outcome_and_the_callback_an_answer() -> None:
    log = [
        ended("asked", 0, 40, "callback"),
        # placed later: its wait runs from its own enqueue (300) to answer (330)
        answered("placed", 300, 330, 400, callback=True),
        ended("failed", 500, 560, "callback_failed"),
    ]
    figures = overall_figures(log, DAY, ReportPolicy())
    assert (figures.offered, figures.answered, figures.other_outcomes) == (3, 1, 2)
    assert (figures.callbacks_requested, figures.callbacks_answered) == (1, 1)
    assert figures.abandoned == 0 and figures.abandon_rate == 0.0
    assert figures.asa_s == 30.0
    assert figures.service_level == 0.0  # 30 s > 20 s


def test_sliding_window_is_half_open() -> None:
    now = at(1800)
    window = sliding_window(now)  # [now - 30 min, now)
    assert window == Period(at(0), now)
    log = [
        answered("start", -50, 0, 100),  # answered at the window's start: in
        answered("before", -50, -0.000001, 100),  # a microsecond earlier: out
        answered("last", 1700, 1799, None),  # a second before now: in
        answered("now", 1700, 1800, None),  # at now: next refresh
    ]
    assert overall_figures(log, window, ReportPolicy()).answered == 2
    assert overall_figures(log, sliding_window(now, minutes=1), ReportPolicy()).answered == 1


def test_abandon_counts_when_it_ends_and_answer_when_answered() -> None:
    window = Period(at(100), at(200))
    log = [
        answered("a", 50, 150, 500),  # enqueued before, answered inside: in
        answered("b", 150, 250, 300),  # enqueued inside, answered after: out
        ended("c", 50, 120, "abandoned"),  # in
        ended("d", 150, 210, "abandoned"),  # out
    ]
    figures = overall_figures(log, window, ReportPolicy())
    assert (figures.answered, figures.abandoned) == (1, 1)


def test_as_json_rounds() -> None:
    figures = overall_figures(LOG, DAY, ReportPolicy())
    data = figures.as_json()
    assert data["service_level"] == 0.6667
    assert data["aht_s"] == 113.3333
    assert data["offered"] == 8
