"""Agents: profiles, skills with proficiency, states and locations."""

from agents.profile import AgentProfile, Location
from agents.state import BUSY, AgentState, InvalidTransition, transition

__all__ = ["BUSY", "AgentProfile", "AgentState", "InvalidTransition", "Location", "transition"]
