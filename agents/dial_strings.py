"""What an agent's dial string may be, and what kind of phone it names.

An agent is reached one of two ways: a device of a PBX (``PJSIP/agent1001``, a
desk phone or a softphone registered there, whatever the agent's location), or a
phone number (``+493012345678``, a home or partner agent's own line), which the
ACD rings through a PBX's outbound trunk. A number must be E.164 -- a ``+``, the
country code, the national number -- because it is dialled from whichever site
the caller is on: a national or local form would mean another line abroad.
"""

from __future__ import annotations

import re

import phonenumbers

from agents.profile import AgentProfile, Location

#: a device of a PBX: ``TECH/resource``, as actions.py allows it into an Originate
_DEVICE = re.compile(r"(?:PJSIP|SIP|IAX2|DAHDI|Local)/[A-Za-z0-9_.@+\-/]{1,80}\Z")
#: anything that looks like a phone number rather than a device
_NUMBER_LIKE = re.compile(r"[+0-9][0-9 ()./-]*\Z")
#: the locations whose agents may be reached by phone number
NUMBER_LOCATIONS = frozenset({Location.HOME, Location.PARTNER})


class InvalidDialString(ValueError):
    """An agent's dial string that no offer could ring; names the agent."""


def is_number(dial_string: str) -> bool:
    """A phone number (any form), not a device of a PBX."""
    return bool(_NUMBER_LIKE.match(dial_string))


def e164_problem(number: str) -> str | None:
    """Why ``number`` is not an E.164 phone number, or None when it is one.

    E.164 here means exactly ``+`` and digits, in the form phonenumbers formats it
    (no spaces, no national trunk prefix), of a length a real number can have."""
    if not number.startswith("+"):
        return "a phone number must be E.164: '+', country code, number"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException as exc:
        return f"not a phone number ({exc})"
    if not phonenumbers.is_possible_number(parsed):
        return "not a possible phone number (wrong length for its country)"
    if phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != number:
        return "a phone number must be E.164: '+' and digits only"
    return None


def check_dial_string(profile: AgentProfile) -> None:
    """Refuse a dial string no offer could ring: a device it may name for any
    agent; a phone number only for a home or partner agent, and then in E.164."""
    dial = profile.dial_string
    where = f"agent {profile.login}: dial string {dial!r}"
    if is_number(dial):
        if profile.location not in NUMBER_LOCATIONS:
            raise InvalidDialString(
                f"{where}: only home and partner agents are reached by phone number"
            )
        problem = e164_problem(dial)
        if problem is not None:
            raise InvalidDialString(f"{where}: {problem}")
        return
    if not _DEVICE.match(dial):
        raise InvalidDialString(
            f"{where}: neither a device (PJSIP/<endpoint>, Local/<exten>@<context>) "
            "nor an E.164 phone number"
        )
