"""How an offer reaches an agent: the dial string the caller's PBX originates.

Pure: an agent's profile, the PBX the caller waits on and the ``DialPlan`` (from
the settings) in, an ``OfferTarget`` or ``Unreachable`` out. The Originate is
always sent to the caller's PBX, because ``Bridge()`` can only join channels of
one Asterisk; so where the agent's phone is decides the route:

- a device on the caller's PBX (an on-site or remote-site desk phone, a home
  agent's softphone registered there): its dial string, as it is;
- a device on another PBX (the profile's ``pbx``): through the caller's PBX's
  trunk to that site, ``PJSIP/<extension>@<trunk>``. The extension is the
  device's name on its own PBX (``PJSIP/agent1001`` -> ``agent1001``,
  ``Local/1001@agent-sim`` -> ``1001``). ASSUMPTION: the far PBX's inbound
  context for the inter-site trunk dials ``PJSIP/${EXTEN}`` (or the matching
  Local), i.e. extensions are named like the endpoints. A device string that is
  itself routed (``PJSIP/x@trunk``) or of another shape has no such name and is
  refused rather than guessed;
- a phone number (a home or partner agent's own line, E.164): through the
  caller's PBX's outbound trunk, ``PJSIP/<+number>@<trunk>``, asked to press 1
  before it is connected (``confirm``, unless the settings turn it off), since
  a voicemail answers like a person would.

Confirmation is only for numbers: a device of one of our PBXs is a phone the
agent logged in with, and its voicemail (if any) is ours to switch off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents import AgentProfile
from agents.dial_strings import e164_problem, is_number
from callcenter.settings import Settings

#: ``PJSIP/agent1001``, ``SIP/1001``, ``IAX2/1001``: a device named by one word
_PLAIN_DEVICE = re.compile(r"(?:PJSIP|SIP|IAX2)/(?P<ext>[A-Za-z0-9_.+\-]{1,80})\Z")
#: ``Local/1001@agent-sim`` (options like ``/n`` allowed): the extension
_LOCAL_DEVICE = re.compile(r"Local/(?P<ext>[A-Za-z0-9_.+\-]{1,80})@[A-Za-z0-9_.\-]+(?:/[a-z]+)?\Z")


class Unreachable(Exception):
    """No route from the caller's PBX to this agent's phone; ``reason`` says why
    (which trunk is missing, or what is wrong with the dial string)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OfferTarget:
    """What to originate for an offer: ``dial_string`` on the caller's PBX, and
    whether the far end must press 1 first (``CC_CONFIRM``)."""

    dial_string: str
    confirm: bool = False


@dataclass(frozen=True, slots=True)
class DialPlan:
    """The trunks of every PBX, as the settings give them."""

    #: PBX name -> its PJSIP endpoint towards the public network
    outbound_trunks: Mapping[str, str] = field(default_factory=dict)
    #: (PBX the caller is on, PBX the agent's phone is on) -> the first one's
    #: PJSIP endpoint towards the second
    site_trunks: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: outside numbers must press 1 to take the call
    confirm_external: bool = True
    #: the PBXs configured; an agent whose ``pbx`` is none of them (the default
    #: ``pbx1`` with one PBX named otherwise, say) is taken to be on the
    #: caller's, since there is no other site to reach them through
    sites: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> DialPlan:
        """The ``[[pbx]]`` tables' ``outbound_trunk`` and ``site_trunks``, and
        ``[dialing] confirm_external``."""
        return cls(
            outbound_trunks={p.name: p.outbound_trunk for p in settings.pbx if p.outbound_trunk},
            site_trunks={
                (p.name, site): trunk for p in settings.pbx for site, trunk in p.site_trunks.items()
            },
            confirm_external=settings.dialing.confirm_external,
            sites=frozenset(p.name for p in settings.pbx),
        )


def offer_target(agent: AgentProfile, caller_pbx: str, plan: DialPlan) -> OfferTarget:
    """The dial string that rings ``agent`` for a caller waiting on ``caller_pbx``.

    Raises ``Unreachable`` when there is no way: a number with no outbound trunk
    on the caller's PBX (or not in E.164), a phone on another site with no trunk
    from the caller's PBX to it (or with no extension to dial there)."""
    dial = agent.dial_string
    if is_number(dial):
        return _outside_number(agent, caller_pbx, plan)
    if agent.pbx == caller_pbx or agent.pbx not in plan.sites:
        return OfferTarget(dial)
    trunk = plan.site_trunks.get((caller_pbx, agent.pbx))
    if trunk is None:
        raise Unreachable(
            f"agent {agent.login}'s phone is on {agent.pbx}: no site trunk from "
            f"{caller_pbx} to {agent.pbx} (site_trunks of [[pbx]] {caller_pbx})"
        )
    return OfferTarget(f"PJSIP/{_extension(agent)}@{trunk}")


def _outside_number(agent: AgentProfile, caller_pbx: str, plan: DialPlan) -> OfferTarget:
    problem = e164_problem(agent.dial_string)
    if problem is not None:
        raise Unreachable(f"agent {agent.login}: dial string {agent.dial_string!r}: {problem}")
    trunk = plan.outbound_trunks.get(caller_pbx)
    if trunk is None:
        raise Unreachable(
            f"agent {agent.login} is reached by phone number: no outbound_trunk "
            f"on [[pbx]] {caller_pbx}"
        )
    return OfferTarget(f"PJSIP/{agent.dial_string}@{trunk}", confirm=plan.confirm_external)


def _extension(agent: AgentProfile) -> str:
    """The device's name on its own PBX, which its site dials it by."""
    dial = agent.dial_string
    found = _PLAIN_DEVICE.match(dial) or _LOCAL_DEVICE.match(dial)
    if found is None:
        raise Unreachable(
            f"agent {agent.login}'s phone is on {agent.pbx}: no extension to dial "
            f"there in {dial!r} (expected PJSIP/<endpoint> or Local/<exten>@<context>)"
        )
    return found["ext"]
