"""Offers are built only from validated values (Originate is as dangerous as a shell)."""

from __future__ import annotations

import pytest

from callcenter.ami.actions import (
    InvalidActionValue,
    caller_id,
    originate_agent_leg,
    originate_spy_leg,
)
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


# -- a supervisor's leg (capture 09) ---------------------------------------------

AGENT_CHANNEL = "Local/1001@agent-sim-00000012;1"


def spy(**overrides: object) -> list[tuple[str, str]]:
    values: dict[str, object] = {
        "spy_leg_id": "spy-c0009-1a2b3c4d",
        "supervisor_target": "Local/supervisor@agent-sim",
        "spied_channel": AGENT_CHANNEL,
        "mode": "whisper",
        "call_id": "c0009",
    }
    values.update(overrides)
    return originate_spy_leg(**values)  # type: ignore[arg-type]


def decoded(headers: list[tuple[str, str]]) -> object:
    [action] = AmiCodec(expect_banner=False).feed(encode_action("Originate", "cc-4", headers))
    return action


def test_a_whisper_is_the_originate_of_capture_09() -> None:
    action = decoded(spy())
    assert action.get("Channel") == "Local/supervisor@agent-sim"  # type: ignore[attr-defined]
    assert action.get("Context") == "callcenter-spy"  # type: ignore[attr-defined]
    assert (action.get("Exten"), action.get("Priority")) == ("s", "1")  # type: ignore[attr-defined]
    assert action.get("Async") == "true"  # type: ignore[attr-defined]
    assert action.get("ChannelId") == "spy-c0009-1a2b3c4d"  # type: ignore[attr-defined]
    assert action.get_all("Variable") == [  # type: ignore[attr-defined]
        f"CC_SPY_TARGET={AGENT_CHANNEL}",
        "CC_SPY_OPTIONS=qw",
    ]
    assert "Application" not in action  # type: ignore[operator]
    assert "Data" not in action  # type: ignore[operator]


@pytest.mark.parametrize(
    ("mode", "options"), [("monitor", "q"), ("whisper", "qw"), ("barge", "qB")]
)
def test_each_mode_sets_its_chanspy_options(mode: str, options: str) -> None:
    assert ("Variable", f"CC_SPY_OPTIONS={options}") in spy(mode=mode)


def test_the_supervisors_phone_shows_which_call_and_mode() -> None:
    assert ("CallerID", '"CC barge c0009" <>') in spy(mode="barge")


def test_a_pjsip_agent_channel_may_be_spied_on() -> None:
    target = "PJSIP/agent01-0000000a"
    assert ("Variable", f"CC_SPY_TARGET={target}") in spy(spied_channel=target)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mode", "spy"),
        ("mode", "qw"),
        ("mode", "whisper\r\nApplication: System"),
        ("supervisor_target", "Local/supervisor@agent-sim\r\nApplication: System"),
        ("supervisor_target", "Local/supervisor@agent-sim\nData: rm -rf /"),
        ("supervisor_target", "supervisor"),
        ("supervisor_target", "Local/sup,x"),
        ("spied_channel", f"{AGENT_CHANNEL}\r\nVariable: CC_SPY_OPTIONS=qB"),
        ("spied_channel", "PJSIP/"),  # a prefix ChanSpy would match on any call
        ("spied_channel", "PJSIP/agent01"),  # also matches PJSIP/agent010-...
        ("spied_channel", "Local/1001@agent-sim-00000012;1,qB"),
        ("spied_channel", "Console/dsp-1"),
        ("spy_leg_id", "spy 1"),
        ("call_id", "c1;DROP"),
    ],
)
def test_unsafe_spy_values_are_refused_with_the_field_named(field: str, value: str) -> None:
    with pytest.raises(InvalidActionValue) as refused:
        spy(**{field: value})
    assert refused.value.field == field
