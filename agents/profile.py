"""Who an agent is, as the router and the dialer need it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Location(StrEnum):
    """Where an agent works; later issues attach cost and preference to each."""

    ON_SITE = "on_site"
    REMOTE_SITE = "remote_site"
    HOME = "home"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """An agent's static facts. ``dial_string`` is what Originate's Channel gets."""

    agent_id: int
    login: str
    name: str
    dial_string: str
    location: Location = Location.ON_SITE
    #: skill name -> proficiency, 1 (novice) to 5 (expert)
    skills: dict[str, int] = field(default_factory=dict)
    pbx: str = "pbx1"
