"""The router: pure Python, no I/O, no clock of its own (time is passed in).

Rules in (``RoutingRules``), events in (calls arriving and leaving, agents
becoming Ready, busy or away, offers failing, time passing), decisions out
(``Offer``, ``Overflow``, ``Closed``), each with its ``Explanation``, and the
instant the router wants to be woken next.
"""

from routing.explain import Candidate, Explanation, PriorityBreakdown
from routing.model import AgentFacts, Closed, Decision, Offer, Overflow, Round, WaitingCall
from routing.reference import ReferenceRouter
from routing.router import Router, RulesRefused, UnknownQueue
from routing.rules import (
    BullseyeStep,
    Hours,
    KnownAgent,
    Location,
    LocationRule,
    PartnerOverflow,
    PriorityPolicy,
    QueueRule,
    RoutingRules,
    Strategy,
    Target,
    ValueBand,
)

__all__ = [
    "AgentFacts",
    "BullseyeStep",
    "Candidate",
    "Closed",
    "Decision",
    "Explanation",
    "Hours",
    "KnownAgent",
    "Location",
    "LocationRule",
    "Offer",
    "Overflow",
    "PartnerOverflow",
    "PriorityBreakdown",
    "PriorityPolicy",
    "QueueRule",
    "ReferenceRouter",
    "Round",
    "Router",
    "RoutingRules",
    "RulesRefused",
    "Strategy",
    "Target",
    "UnknownQueue",
    "ValueBand",
    "WaitingCall",
]
