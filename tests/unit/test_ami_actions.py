"""Offers are built only from validated values (Originate is as dangerous as a shell)."""

from __future__ import annotations

import pytest

from callcenter.ami.actions import (
    InvalidActionValue,
    caller_id,
    follow_into_conference,
    hangup,
    originate_agent_leg,
    originate_callback_leg,
    originate_conference_leg,
    originate_spy_leg,
    redirect_caller,
    set_call_id,
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


def test_an_offer_to_an_outside_number_asks_for_confirmation_on_the_wire() -> None:
    wire = encode_action(
        "Originate",
        "cc-4",
        offer(agent_target="PJSIP/+493012345678@outbound-trunk", confirm=True),
    )
    [action] = AmiCodec(expect_banner=False).feed(wire)
    assert action.get("Channel") == "PJSIP/+493012345678@outbound-trunk"  # type: ignore[union-attr]
    assert action.get("Exten") == "s"  # type: ignore[union-attr]
    assert action.get_all("Variable") == [  # type: ignore[union-attr]
        "CC_CALL_ID=c0001",
        "CC_CALLER_CHANNEL=Local/100@callcenter-inbound-00000000;2",
        "CC_RECORD=0",
        "CC_CONFIRM=1",
    ]


def test_without_confirmation_no_cc_confirm_variable_is_sent_at_all() -> None:
    assert offer(confirm=False) == offer()
    assert not [v for k, v in offer() if k == "Variable" and v.startswith("CC_CONFIRM")]


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


# -- call control: hold, transfer, conference (capture 16) -----------------------

CALLER = "Local/100@callcenter-inbound-0000042b;2"


def conference_leg(**overrides: object) -> list[tuple[str, str]]:
    values: dict[str, object] = {
        "leg_id": "agentleg-c0016-2",
        "call_id": "c0016",
        "target": "Local/1002@agent-sim",
        "ring_timeout_s": 15,
        "caller_id_number": "+982112345678",
        "caller_id_name": "Nadia Karimi",
    }
    values.update(overrides)
    return originate_conference_leg(**values)  # type: ignore[arg-type]


def test_naming_the_callers_conference_is_the_setvar_of_capture_16() -> None:
    assert set_call_id(channel=CALLER, call_id="c0016") == [
        ("Channel", CALLER),
        ("Variable", "CC_CALL_ID"),
        ("Value", "c0016"),
    ]


def test_an_agent_leg_is_marked_to_follow_its_caller_and_unmarked() -> None:
    agent = "Local/1001@agent-sim-0000000f;1"
    assert follow_into_conference(agent_channel=agent) == [
        ("Channel", agent),
        ("Variable", "CC_AFTER_BRIDGE"),
        ("Value", "conf"),
    ]
    assert follow_into_conference(agent_channel=agent, follow=False)[-1] == ("Value", "")


@pytest.mark.parametrize(
    ("destination", "context"),
    [("hold", "callcenter-wait"), ("wait", "callcenter-wait"), ("conference", "callcenter-conf")],
)
def test_a_caller_is_redirected_as_capture_16_and_08_show(destination: str, context: str) -> None:
    assert redirect_caller(caller_channel=CALLER, destination=destination) == [
        ("Channel", CALLER),
        ("Context", context),
        ("Exten", "s"),
        ("Priority", "1"),
    ]


@pytest.mark.parametrize("number", ["+442071234567", "0612345678", "112"])
def test_a_transfer_out_dials_the_number_as_the_extension(number: str) -> None:
    headers = redirect_caller(caller_channel=CALLER, destination="outbound", number=number)
    assert headers[1:] == [("Context", "callcenter-outbound"), ("Exten", number), ("Priority", "1")]


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("destination", {"destination": "voicemail"}),
        ("destination", {"destination": "callcenter-conf"}),
        ("destination", {"destination": "hold\r\nApplication: System"}),
        ("number", {"destination": "outbound", "number": "+44 20 7123"}),
        ("number", {"destination": "outbound", "number": "0800CALLME"}),
        ("number", {"destination": "outbound", "number": "_X."}),
        ("number", {"destination": "outbound", "number": "12"}),
        ("number", {"destination": "outbound", "number": "1" * 21}),
        ("number", {"destination": "outbound", "number": "*72"}),
        ("number", {"destination": "outbound", "number": "+4420\r\nContext: default"}),
        ("number", {"destination": "outbound", "number": ""}),
        ("caller_channel", {"caller_channel": f"{CALLER}\r\nExtraChannel: PJSIP/x-1"}),
        ("caller_channel", {"caller_channel": "Local/x,Data: rm"}),
    ],
)
def test_unsafe_redirects_are_refused_with_the_field_named(
    field: str, changes: dict[str, str]
) -> None:
    values = {"caller_channel": CALLER, "destination": "hold", **changes}
    with pytest.raises(InvalidActionValue) as refused:
        redirect_caller(**values)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("builder", "field"),
    [
        (lambda: set_call_id(channel=CALLER, call_id="c1\r\nVariable: X"), "call_id"),
        (lambda: set_call_id(channel=CALLER, call_id="${SHELL(id)}"), "call_id"),
        (lambda: set_call_id(channel=f"{CALLER}\n", call_id="c1"), "channel"),
        (lambda: follow_into_conference(agent_channel="PJSIP/a-1\r\nValue: x"), "agent_channel"),
        (lambda: hangup(f"{CALLER}\r\nChannel: PJSIP/boss-1"), "channel"),
    ],
)
def test_unsafe_setvars_and_hangups_are_refused(builder: object, field: str) -> None:
    with pytest.raises(InvalidActionValue) as refused:
        builder()  # type: ignore[operator]
    assert refused.value.field == field


def test_a_conference_leg_is_the_originate_of_capture_16() -> None:
    action = decoded(conference_leg())
    assert [(k, v) for k, v in action if k not in ("Action", "ActionID")] == [  # type: ignore[attr-defined]
        ("Channel", "Local/1002@agent-sim"),
        ("Context", "callcenter-conf"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Async", "true"),
        ("Timeout", "15000"),
        ("ChannelId", "agentleg-c0016-2"),
        ("CallerID", '"Nadia Karimi" <+982112345678>'),
        ("Variable", "CC_CALL_ID=c0016"),
    ]


def test_an_outside_party_joins_through_callcenter_outbound() -> None:
    target = "Local/+442071234567@callcenter-outbound"
    assert ("Channel", target) in conference_leg(target=target)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target", "Local/0800CALLME@callcenter-outbound"),
        ("target", "Local/12@callcenter-outbound"),
        ("target", "Local/_X.@callcenter-outbound"),
        ("target", "Local/+4420@callcenter-outbound/b"),
        ("target", "Local/1002@agent-sim\r\nApplication: System"),
        ("target", "1002"),
        ("leg_id", "leg 2"),
        ("call_id", "c1;DROP"),
        ("ring_timeout_s", 0),
        ("caller_id_name", "Eve\r\nApplication: System"),
    ],
)
def test_unsafe_conference_legs_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(InvalidActionValue) as refused:
        conference_leg(**{field: value})
    assert refused.value.field == field


def callback_leg(**overrides: object) -> list[tuple[str, str]]:
    values: dict[str, object] = {
        "leg_id": "agentleg-c0042-ab12-3",
        "call_id": "c0042",
        "agent_target": "PJSIP/agent1001",
        "number": "+14155550123",
        "ring_timeout_s": 15,
        "caller_id_name": "Alice Martin",
    }
    values.update(overrides)
    return originate_callback_leg(**values)  # type: ignore[arg-type]


def test_a_callback_rings_the_agent_into_callcenter_callback_out_with_the_number() -> None:
    action = decoded(callback_leg())
    assert [(k, v) for k, v in action if k not in ("Action", "ActionID")] == [  # type: ignore[attr-defined]
        ("Channel", "PJSIP/agent1001"),
        ("Context", "callcenter-callback-out"),
        ("Exten", "+14155550123"),
        ("Priority", "1"),
        ("Async", "true"),
        ("Timeout", "15000"),
        ("ChannelId", "agentleg-c0042-ab12-3"),
        ("CallerID", '"Alice Martin" <+14155550123>'),
        ("Variable", "CC_CALL_ID=c0042"),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("number", "0800CALLME"),
        ("number", "+1415555O123"),
        ("number", "_X."),
        ("number", "12"),
        ("number", "+" + "1" * 21),
        ("number", "*98"),
        ("number", "+14155550123\r\nApplication: System"),
        ("number", "+14155550123\n"),
        ("number", ""),
        ("agent_target", "PJSIP/agent1001\r\nContext: default"),
        ("agent_target", "agent1001"),
        ("leg_id", "leg 3"),
        ("call_id", "c1;DROP"),
        ("ring_timeout_s", 0),
        ("caller_id_name", "Eve\r\nApplication: System"),
    ],
)
def test_unsafe_callbacks_are_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(InvalidActionValue) as refused:
        callback_leg(**{field: value})
    assert refused.value.field == field
