"""Agents: profiles, skills with proficiency, states and locations."""

from agents.profile import AgentProfile, Location
from agents.state import AgentState, InvalidTransition, transition

__all__ = ["AgentProfile", "AgentState", "InvalidTransition", "Location", "transition"]
