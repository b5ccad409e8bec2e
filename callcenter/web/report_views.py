"""The real-time report as the wallboard and the API show it: live figures from
the running call center (who waits, who is in which state) beside the counted
ones from the call records (the sliding window and the day so far), and the
staffing each queue needs now.

Pure: the board, the facts and the instant are passed in, so the same inputs
always give the same report (definitions in docs/reports.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from callcenter.ports import Wallboard
from callcenter.reports import (
    CallFact,
    Period,
    ReportPolicy,
    StateChange,
    floor_occupancy,
    overall_figures,
    queue_figures,
    staffing,
)
from callcenter.settings import ReportSettings

LOGGED_OUT = "logged_out"


def report_policy(board: Wallboard, settings: ReportSettings) -> ReportPolicy:
    """Each queue's own service-level threshold, the center's abandon rules."""
    return ReportPolicy(
        service_level_s={queue.name: queue.service_level_s for queue in board.queues},
        short_abandon_s=settings.short_abandon_s,
        exclude_short_abandons=settings.exclude_short_abandons,
    )


def realtime_report(
    *,
    board: Wallboard,
    calls: Sequence[CallFact],
    changes: Sequence[StateChange],
    window: Period,
    today: Period,
    settings: ReportSettings,
    eligible_agents: Mapping[str, set[int]],
) -> dict[str, Any]:
    """``eligible_agents``: per queue, the agents whose skills let them take its
    calls (staffing compares what Erlang C asks for with who is logged in)."""
    policy = report_policy(board, settings)
    names = [queue.name for queue in board.queues]
    in_window = queue_figures(calls, window, policy, queues=names)
    in_day = queue_figures(calls, today, policy, queues=names)
    logged_in = {agent.agent_id for agent in board.agents if agent.state.value != LOGGED_OUT}
    queues = []
    for queue in board.queues:
        figures, day = in_window[queue.name], in_day[queue.name]
        need = staffing(
            queue.name,
            calls_in_window=figures.offered,
            window_s=window.duration_s,
            # the window's AHT, or the day's while nothing was answered lately
            aht_s=figures.aht_s if figures.aht_s is not None else day.aht_s,
            target_service_level=queue.service_level_target,
            threshold_s=queue.service_level_s,
        )
        queues.append(
            {
                "name": queue.name,
                "waiting": queue.waiting,
                "longest_wait_s": _longest_wait(queue.oldest_enqueued_at, board.at),
                "service_level_s": queue.service_level_s,
                "service_level_target": queue.service_level_target,
                "window": figures.as_json(),
                "today": day.as_json(),
                "staffing": {
                    **need.as_json(),
                    "agents_logged_in": len(eligible_agents.get(queue.name, set()) & logged_in),
                },
            }
        )
    return {
        "at": datetime.fromtimestamp(board.at, UTC).isoformat(),
        "timezone": settings.timezone,
        "window_minutes": settings.window_minutes,
        "shown_service_level": settings.wallboard_service_level,
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat()},
        "today": {"start": today.start.isoformat(), "end": today.end.isoformat()},
        "overall": {
            "window": overall_figures(calls, window, policy).as_json(),
            "today": overall_figures(calls, today, policy).as_json(),
        },
        "queues": queues,
        "agents_by_state": dict(sorted(Counter(a.state.value for a in board.agents).items())),
        "occupancy": {
            "window": _rounded(floor_occupancy(changes, window)),
            "today": _rounded(floor_occupancy(changes, today)),
        },
    }


def _longest_wait(oldest_enqueued_at: float | None, at: float) -> float:
    return 0.0 if oldest_enqueued_at is None else round(max(0.0, at - oldest_enqueued_at), 1)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
