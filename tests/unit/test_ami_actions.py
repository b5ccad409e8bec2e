"""Offers are built only from validated values (Originate is as dangerous as a shell)."""

from __future__ import annotations

import pytest

from callcenter.ami.actions import InvalidActionValue, caller_id, originate_agent_leg
from callcenter.ami.codec import AmiCodec, encode_action


def offer(**overrides: object) -> list[tuple[str, str]]:
    values: dict[str, object] = {
        "leg_id": "agentleg-c0001-1",
        "call_id": "c0001",
        "agent_target": "Local/1001@agent-sim",
        "caller_channel": "Local/100@callcenter-inbound-00000000;2",
        "ring_timeout_s": 15,
        "caller_id_number": "+14155550123",
        "caller_id_name": "Alice Martin",
    }
    values.update(overrides)
    return originate_agent_leg(**values)  # type: ignore[arg-type]


def test_offer_matches_what_the_captured_dialplan_expects() -> None:
    wire = encode_action("Originate", "cc-3", offer())
    [action] = AmiCodec(expect_banner=False).feed(wire)
    assert action.get("Context") == "callcenter-connect"  # type: ignore[union-attr]
    assert action.get("ChannelId") == "agentleg-c0001-1"  # type: ignore[union-attr]
    assert action.get("Timeout") == "15000"  # type: ignore[union-attr]
    assert action.get_all("Variable") == [  # type: ignore[union-attr]
        "CC_CALL_ID=c0001",
        "CC_CALLER_CHANNEL=Local/100@callcenter-inbound-00000000;2",
        "CC_RECORD=0",
    ]
    assert "Application" not in action  # type: ignore[operator]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("agent_target", "Local/1001@agent-sim\r\nApplication: System"),
        ("agent_target", "1001"),
        ("caller_channel", "Local/x,Data: rm"),
        ("call_id", "c1;DROP"),
        ("ring_timeout_s", 0),
    ],
)
def test_unsafe_values_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(InvalidActionValue) as refused:
        offer(**{field: value})
    assert refused.value.field == field


def test_caller_id_drops_characters_that_would_break_the_header() -> None:
    assert caller_id('Eve "<evil>"\\', "+1555") == '"Eve evil" <+1555>'
    assert caller_id("Bob", "not-a-number") == '"Bob" <>'
