"""The JSON the pages read: agent views and wallboard snapshots.

Durations (seconds waited, time in state) are computed here from the snapshot's
own ``at`` rather than by the browser from epoch timestamps, so a supervisor PC
with a wrong clock still shows correct waits; the page only adds the seconds
elapsed since it received the snapshot.
"""

from __future__ import annotations

from typing import Any

from agents import AgentState
from callcenter.ports import (
    AgentView,
    Principal,
    QueueStatsView,
    SupervisionEvent,
    SupervisionStarted,
    WaitingCallView,
    Wallboard,
)


def agent_json(view: AgentView) -> dict[str, Any]:
    return view.as_json()


def principal_json(principal: Principal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "roles": sorted(role.value for role in principal.roles),
        "agent_id": principal.agent_id,
        "queues": None if principal.queues is None else sorted(principal.queues),
    }


def supervision_started_json(started: SupervisionStarted) -> dict[str, Any]:
    return {
        "call_id": started.call_id,
        "agent_id": started.agent_id,
        "mode": started.mode.value,
        "spy_leg_id": started.spy_leg_id,
        "confirmed": started.confirmed,
    }


def supervision_event_json(event: SupervisionEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "user_id": event.user_id,
        "username": event.username,
        "call_id": event.call_id,
        "agent_id": event.agent_id,
        "mode": event.mode.value,
        "outcome": event.outcome,
        "spy_leg_id": event.spy_leg_id,
    }


def wallboard_json(board: Wallboard) -> dict[str, Any]:
    at = board.at
    counts = {state.value: 0 for state in AgentState}
    for agent in board.agents:
        counts[agent.state.value] += 1
    return {
        "at": at,
        "waiting": [_waiting_json(call, at) for call in board.waiting],
        "agents": [
            {**agent_json(agent), "in_state_s": _elapsed(agent.since, at)} for agent in board.agents
        ],
        "counts": counts,
        "queues": _queues_json(board.waiting, at),
        "queue_stats": [_queue_stats_json(stats, at) for stats in board.queues],
    }


def _queue_stats_json(stats: QueueStatsView, at: float) -> dict[str, Any]:
    return {
        "name": stats.name,
        "waiting": stats.waiting,
        "longest_wait_s": (
            _elapsed(stats.oldest_enqueued_at, at) if stats.oldest_enqueued_at is not None else 0.0
        ),
        "service_level_s": stats.service_level_s,
        "service_level_target": stats.service_level_target,
        "service_level": _rounded(stats.service_level),
        "asa_s": _rounded(stats.asa_s),
        "abandon_rate": _rounded(stats.abandon_rate),
        "answered": stats.answered,
        "abandoned": stats.abandoned,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _waiting_json(call: WaitingCallView, at: float) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "queue": call.queue,
        "caller_number": call.caller_number,
        "enqueued_at": call.enqueued_at,
        "waited_s": _elapsed(call.enqueued_at, at),
        "routing": call.routing,
    }


def _queues_json(waiting: list[WaitingCallView], at: float) -> dict[str, dict[str, float]]:
    queues: dict[str, dict[str, float]] = {}
    for call in waiting:
        summary = queues.setdefault(call.queue, {"waiting": 0, "longest_wait_s": 0.0})
        summary["waiting"] += 1
        summary["longest_wait_s"] = max(summary["longest_wait_s"], _elapsed(call.enqueued_at, at))
    return queues


def _elapsed(since: float, at: float) -> float:
    return round(max(0.0, at - since), 1)
