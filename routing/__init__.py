"""The router: pure Python, no I/O, no clock of its own (time is passed in)."""

from routing.model import AvailableAgent, Decision, Offer, QueueRule, WaitingCall
from routing.router import Router, UnknownQueue

__all__ = [
    "AvailableAgent",
    "Decision",
    "Offer",
    "QueueRule",
    "Router",
    "UnknownQueue",
    "WaitingCall",
]
