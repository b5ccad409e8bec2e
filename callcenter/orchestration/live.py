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
from callcenter.orchestration.ports import LegKind
from routing import Explanation

#: ``outside``: blind-transferred to an outside number; no agent of ours is on
#: it any more, but the caller is, until they hang up.
Phase = Literal["waiting", "ringing", "talking", "outside"]


@dataclass
class Party:
    """A leg added to an answered call by its agent: a consulted agent or outside
    number (attended transfer), a third party (conference), or the outside
    number of a blind transfer. ``agent_id`` is None for an outside number."""

    leg_id: str
    agent_id: int | None
    target: str
    kind: LegKind
    answered_at: float | None = None


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
    #: what rang each leg's agent (their phone, or a trunk and their number)
    lines: dict[str, str] = field(default_factory=dict)
    pop: asyncio.Future[dict[str, Any]] | None = None
    #: who the caller is, as far as routing needs (``PopBuilder``'s ``identified``,
    #: or the whole pop); None as its result: the lookup failed
    identity: asyncio.Future[dict[str, Any] | None] | None = None
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
    #: an agent has talked on it (the record's outcome is then "answered")
    ever_answered: bool = False
    #: when the agent now on it was connected (their leg's credit starts)
    connected_at: float | None = None
    #: talking in its own ConfBridge (after the first hold, consult or
    #: conference) rather than through Bridge()
    in_conference: bool = False
    #: since when the caller is on hold (Redirected to ``callcenter-wait``)
    hold_started: float | None = None
    #: seconds on hold while the agent now on it had it
    held_s: float = 0.0
    #: the party the agent added (consult or conference), ringing or talking
    party: Party | None = None
    #: offered straight to an agent by a transfer: the router does not hold it
    direct: bool = False
    #: an agent's call-control action is under way (one at a time per call)
    controlling: bool = False
    #: who handed the call over and what they wrote; shown in the next pop
    transfer_note: dict[str, Any] | None = None
    #: the agent asked to hang up (the record says the agent ended it)
    ended_by_agent: bool = False
    #: taken over from an earlier run: its legs that reached an agent
    earlier_legs: dict[str, int] = field(default_factory=dict)
    #: the caller asked to be called back at this number (and may have hung up)
    callback_number: str | None = None
    #: the Linkedid of the callback attempt in progress (its agent leg's id)
    callback_linkedid: str | None = None
    #: callback attempts where the customer did not answer
    callback_attempts: int = 0
    #: the next callback attempt, after one the customer did not answer
    callback_timer: asyncio.TimerHandle | None = None


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
    #: the call the agent last talked on: their wrap-up notes go to it
    last_call_id: str | None = None
    #: that call's pop, so the customer can still be picked or created in wrap-up
    last_pop: dict[str, Any] | None = None
