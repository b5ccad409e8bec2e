"""An agent whose desktop is gone is made Not Ready, after a grace period.

Why: a Ready agent with no page open would still be offered calls, and the
caller would be answered by someone who sees no pop and cannot take notes (or
by nobody: the laptop is closed, the headset still on the desk rings out, RONA
costs the caller a ring time). So agent state never rests on the socket alone,
yet a page reload or a Wi-Fi blip (the page reconnects within seconds) must not
take anyone out of the queues: only ``grace_s`` without any open desktop does.

Only agents who had a desktop open in this run are watched: agents worked by
an API client or a softphone integration without the page are left alone.

Mid-call, the Not Ready waits for the call to end (``set_agent_state`` queues
it), so nobody is cut off; in wrap-up it ends the wrap-up.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import structlog

from agents import AgentState
from callcenter.ports import CallCenterDesk, DeskUnavailable

log = structlog.get_logger(__name__)

#: the Not Ready reason the agent and the wallboard see
DESKTOP_GONE = "desktop closed"
#: states that mean "still working": an absent desktop takes the agent out of them
_WORKING = frozenset(
    {
        AgentState.READY,
        AgentState.RESERVED,
        AgentState.RINGING,
        AgentState.ON_CALL,
        AgentState.WRAP_UP,
    }
)


class DesktopPresence:
    """Counts each agent's open desktops (websockets); all on one event loop."""

    def __init__(self, desk: CallCenterDesk, grace_s: float) -> None:
        if grace_s <= 0:
            raise ValueError("grace_s must be positive")
        self._desk = desk
        self._grace_s = grace_s
        self._open: Counter[int] = Counter()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._expiring: set[asyncio.Task[None]] = set()

    def opened(self, agent_id: int) -> None:
        self._open[agent_id] += 1
        timer = self._timers.pop(agent_id, None)
        if timer is not None:
            timer.cancel()

    def closed(self, agent_id: int) -> None:
        self._open[agent_id] -= 1
        if self._open[agent_id] > 0:
            return
        del self._open[agent_id]
        loop = asyncio.get_running_loop()
        self._timers[agent_id] = loop.call_later(self._grace_s, self._expire, agent_id)

    def open_count(self, agent_id: int) -> int:
        return self._open[agent_id]

    def _expire(self, agent_id: int) -> None:
        self._timers.pop(agent_id, None)
        if self._open[agent_id] > 0:
            return
        task = asyncio.get_running_loop().create_task(self._make_not_ready(agent_id))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    async def _make_not_ready(self, agent_id: int) -> None:
        try:
            view = self._desk.agent_view(agent_id)
            if view.state not in _WORKING:
                return  # already away or logged out: nothing to protect callers from
            await self._desk.set_agent_state(agent_id, AgentState.NOT_READY, DESKTOP_GONE)
        except DeskUnavailable:
            return  # no router here: the node that routes counts desktops too
        except Exception:
            # An agent removed meanwhile, a refused move: never an unhandled task.
            log.exception("could not make an agent without a desktop Not Ready", agent_id=agent_id)
            return
        log.warning(
            "agent's desktop gone past the grace period: made Not Ready",
            agent_id=agent_id,
            grace_s=self._grace_s,
            was=view.state.value,
        )

    def close(self) -> None:
        """Stop every pending timer (the app is shutting down)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
