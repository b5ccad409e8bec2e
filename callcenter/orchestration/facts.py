"""What the router is told about a call and an agent, from the live records.

The CRM lookup that builds the screen-pop also says who the customer is: their
tier and lifetime value set the caller's priority, and the agent who served them
last is the known agent. A pop that failed or timed out gives a caller with no
customer facts, who is routed all the same (at the base priority).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agents import AgentProfile
from callcenter.orchestration.live import LiveAgent, LiveCall
from routing import AgentFacts, WaitingCall


def customer_facts(pop: dict[str, Any] | None) -> dict[str, Any]:
    """Tier, lifetime value and last agent out of a pop document (all optional)."""
    if not pop:
        return {}
    customer = pop.get("customer") or {}
    last = pop.get("last_agent") or {}
    facts: dict[str, Any] = {"tier": customer.get("tier") or None}
    try:
        facts["lifetime_value"] = float(Decimal(str(customer.get("lifetime_value") or "0")))
    except InvalidOperation:
        facts["lifetime_value"] = 0.0
    if last.get("agent_id") is not None and last.get("at"):
        try:
            facts["last_agent_id"] = int(last["agent_id"])
            facts["last_served_at"] = datetime.fromisoformat(str(last["at"])).timestamp()
        except (TypeError, ValueError):
            pass
    return facts


def waiting_call(call: LiveCall) -> WaitingCall:
    facts = call.customer or {}
    return WaitingCall(
        call_id=call.call_id,
        queue=call.queue,
        enqueued_at=call.enqueued_at,
        tier=facts.get("tier"),
        lifetime_value=facts.get("lifetime_value", 0.0),
        last_agent_id=facts.get("last_agent_id"),
        last_served_at=facts.get("last_served_at"),
        admitted_at=call.admitted_at,
    )


def agent_facts(agent: LiveAgent, today: date) -> AgentFacts:
    profile: AgentProfile = agent.profile
    return AgentFacts(
        agent_id=profile.agent_id,
        skills=profile.skills,
        location=profile.location.value,
        idle_since=agent.since,
        busy_s_today=agent.busy_s_today if agent.busy_day == today else 0.0,
    )
