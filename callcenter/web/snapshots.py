"""The messages that give a page its whole picture.

A page gets them when it connects (its agent's state and current pop, or the
wallboard), and a node that routes sends them for a page that opened on
another node (``PeerHandlers.snapshot``): the same messages either way, so the
page cannot tell where it is connected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from callcenter.ports import AgentView, CallCenterDesk, DeskUnavailable, Wallboard
from callcenter.web.views import agent_json, wallboard_json


def state_message(view: AgentView) -> dict[str, Any]:
    """The agent's state, with the server's clock (the page's timers use it)."""
    return {"type": "state", "agent": agent_json(view), "now": time.time()}


def pop_message(pop: dict[str, Any]) -> dict[str, Any]:
    return {"type": "pop", "call_id": pop.get("call_id"), "pop": pop}


def wallboard_message(board: Wallboard) -> dict[str, Any]:
    return {"type": "wallboard", **wallboard_json(board)}


def agent_snapshot(desk: CallCenterDesk, agent_id: int) -> list[dict[str, Any]]:
    """State, then the pop of the call on screen if any. Raises ``KeyError`` for
    an unknown agent and ``DeskUnavailable`` where nothing routes."""
    messages = [state_message(desk.agent_view(agent_id))]
    pop = desk.current_pop(agent_id)
    if pop is not None:
        messages.append(pop_message(pop))
    return messages


def snapshots_of(desk: CallCenterDesk) -> Callable[[int | None], list[dict[str, Any]]]:
    """Answers another node's request: an agent's picture, or the wallboard's
    (None); nothing from a node with no router, or for an agent it does not know."""

    def snapshot(agent_id: int | None) -> list[dict[str, Any]]:
        try:
            if agent_id is None:
                return [wallboard_message(desk.wallboard())]
            return agent_snapshot(desk, agent_id)
        except (DeskUnavailable, KeyError):
            return []

    return snapshot
