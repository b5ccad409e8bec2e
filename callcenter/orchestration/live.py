"""The orchestrator's live state: the calls in progress and the agents on shift.

Plain mutable records owned by the orchestrator alone (single writer); nothing
else holds them, so no locking is needed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from agents import AgentProfile, AgentState
from routing import Explanation

Phase = Literal["waiting", "ringing", "talking"]


@dataclass
class LiveCall:
    call_id: str
    pbx: str
    linkedid: str
    queue: str
    caller_channel: str
    caller_number: str
    caller_name: str
    account: str
    enqueued_at: float
    phase: Phase = "waiting"
    #: the leg now ringing or talking, and its agent
    leg_id: str | None = None
    agent_id: int | None = None
    answered_by: int | None = None
    caller_gone: bool = False
    legs: dict[str, int] = field(default_factory=dict)
    pop: asyncio.Task[dict[str, Any]] | None = None
    #: the leg whose agent has been sent the pop (once per offer)
    popped_leg: str | None = None
    #: waiting, but out of the router while its PBX link is out of step
    held: bool = False
    #: what the CRM said (tier, value, last agent); None until the lookup is over
    customer: dict[str, Any] | None = None
    #: when it entered its current queue, once the router has admitted it
    admitted_at: float | None = None
    #: the router's latest word on this call
    explanation: Explanation | None = None
    #: sent out of the queues (voicemail, callback, closed message)
    redirected_to: str | None = None
    #: supervisors' legs (ChannelIds) listening in, hung up when the call ends
    spy_legs: list[str] = field(default_factory=list)


@dataclass
class LiveAgent:
    profile: AgentProfile
    state: AgentState = AgentState.LOGGED_OUT
    since: float = 0.0
    reason: str | None = None
    call_id: str | None = None
    #: a change asked for during a call, applied when the call ends
    pending: tuple[AgentState, str | None] | None = None
    #: offers missed in a row (RONA counts these)
    missed: int = 0
    #: seconds working calls (reserved to wrap-up) on ``busy_day``
    busy_s_today: float = 0.0
    busy_day: date | None = None
    #: ends the wrap-up when its time is up
    wrap_up_timer: asyncio.TimerHandle | None = None
