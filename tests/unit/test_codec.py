"""The AMI codec against every byte a real Asterisk 22 sent (tests/fixtures/ami)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.ami.codec import (
    AmiCodec,
    Frame,
    LocalProtocolError,
    encode_action,
    encode_frame,
    encode_message,
    parse_frame,
)
from callcenter.ami.message import Banner, MalformedFrame, Message
from callcenter.replay import read_actions, split_connections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
CAPTURES = sorted(FIXTURES.glob("*.ami"))
ACTION_FILES = sorted(FIXTURES.glob("*.actions"))


def _streams(capture: Path) -> list[bytes]:
    return split_connections(capture.read_bytes())


def _parse_whole(stream: bytes) -> list[Frame]:
    return AmiCodec().feed(stream)


def _parse_in_chunks(stream: bytes, sizes: list[int]) -> list[Frame]:
    codec = AmiCodec()
    frames: list[Frame] = []
    pos = 0
    for size in sizes:
        frames += codec.feed(stream[pos : pos + size])
        pos += size
    frames += codec.feed(stream[pos:])
    assert codec.buffered_bytes == 0
    return frames


def test_there_are_captures_to_test_against() -> None:
    assert len(CAPTURES) >= 14
    assert len(ACTION_FILES) == len(CAPTURES)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_every_capture_parses_banner_first_without_malformed_frames(capture: Path) -> None:
    for stream in _streams(capture):
        frames = _parse_whole(stream)
        assert isinstance(frames[0], Banner)
        assert frames[0].version == "11.0.0"
        rest = frames[1:]
        assert rest, "a capture holds more than a banner"
        assert all(isinstance(f, Message) for f in rest)


def test_the_error_capture_holds_two_connections_each_with_its_banner() -> None:
    streams = _streams(FIXTURES / "11-errors.ami")
    assert len(streams) == 2
    first, second = (_parse_whole(s) for s in streams)
    assert isinstance(first[1], Message) and first[1].is_error
    assert isinstance(second[1], Message) and second[1]["Message"] == "Authentication accepted"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_chunked_reads_give_the_same_messages_as_one_read(
    capture: Path, data: st.DataObject
) -> None:
    for stream in _streams(capture):
        sizes = data.draw(st.lists(st.integers(min_value=1, max_value=3000), max_size=60))
        assert _parse_in_chunks(stream, sizes) == _parse_whole(stream)


def test_a_utf8_name_split_inside_its_accent_survives() -> None:
    stream = (FIXTURES / "03-agent-busy.ami").read_bytes()
    accent = stream.index("é".encode())
    codec = AmiCodec()
    frames = codec.feed(stream[: accent + 1]) + codec.feed(stream[accent + 1 :])
    names = {f.get("CallerIDName") for f in frames if isinstance(f, Message)}
    assert "Chloé Dubois" in names
    assert not any("\ufffd" in (name or "") for name in names)


def test_every_byte_fed_alone_still_gives_every_message() -> None:
    stream = (FIXTURES / "04-abandon-waiting.ami").read_bytes()
    assert _parse_in_chunks(stream, [1] * len(stream)) == _parse_whole(stream)


@pytest.mark.parametrize("actions_file", ACTION_FILES, ids=lambda p: p.stem)
def test_every_sent_action_survives_an_encode_parse_round_trip(actions_file: Path) -> None:
    actions = read_actions(actions_file)
    assert actions
    for sent in actions:
        msg = sent.message
        assert msg.action is not None
        encoded = encode_message(msg)
        (parsed,) = AmiCodec(expect_banner=False).feed(encoded)
        assert parsed == msg
        rest = [(k, v) for k, v in msg.headers if k not in ("Action", "ActionID")]
        via_action = encode_action(msg.action, msg.action_id or "", rest)
        (parsed_action,) = AmiCodec(expect_banner=False).feed(via_action)
        assert isinstance(parsed_action, Message)
        assert sorted(parsed_action.headers) == sorted(msg.headers)


def test_repeated_variable_headers_keep_their_order() -> None:
    originates = [
        a.message
        for a in read_actions(FIXTURES / "01-happy-path.actions")
        if a.message.get("Context") == "callcenter-connect"
    ]
    (originate,) = originates
    expected = [
        "CC_CALL_ID=c0001",
        "CC_CALLER_CHANNEL=Local/100@callcenter-inbound-00000000;2",
        "CC_RECORD=0",
    ]
    assert originate.get_all("Variable") == expected
    (again,) = AmiCodec(expect_banner=False).feed(encode_message(originate))
    assert isinstance(again, Message)
    assert again.get_all("Variable") == expected


@pytest.mark.parametrize(
    "value", ["x\r\nApplication: System", "x\nApplication: System", "x\rApplication: System"]
)
def test_a_line_break_in_a_value_is_refused(value: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_action("Originate", "a1", [("Channel", value)])


@pytest.mark.parametrize("name", ["Bad Name", "Bad:Name", "", "Name\r\n"])
def test_a_bad_header_name_is_refused(name: str) -> None:
    with pytest.raises(LocalProtocolError):
        encode_frame([(name, "value")])


def test_a_malformed_frame_is_reported_and_the_next_frame_still_parses() -> None:
    codec = AmiCodec(expect_banner=False)
    frames = codec.feed(
        b"this is not a header\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n"
    )
    assert isinstance(frames[0], MalformedFrame)
    assert b"not a header" in frames[0].raw
    assert frames[1] == Message.build(("Event", "FullyBooted"), ("Status", "Fully Booted"))


def test_a_value_may_hold_colons_and_be_empty() -> None:
    msg = parse_frame(b"Event: UserEvent\r\nAppData: CallCenterEnqueue,Queue: sales\r\nAccount: ")
    assert isinstance(msg, Message)
    assert msg["AppData"] == "CallCenterEnqueue,Queue: sales"
    assert msg["Account"] == ""


def test_a_frame_beyond_the_cap_is_cut_reported_and_the_stream_goes_on() -> None:
    codec = AmiCodec(expect_banner=False, max_frame_bytes=1024)
    frames = codec.feed(b"Event: Flood\r\n")
    for _ in range(100):
        frames += codec.feed(b"Junk: " + b"x" * 64 + b"\r\n")
    assert codec.buffered_bytes <= 1024, "a flood is never buffered without bound"
    frames += codec.feed(b"Junk: end\r\n\r\nEvent: Next\r\nUniqueid: 1\r\n\r\n")
    assert len(frames) == 2
    assert isinstance(frames[0], MalformedFrame) and "longer than 1024" in frames[0].reason
    assert len(frames[0].raw) <= 256
    assert isinstance(frames[1], Message) and frames[1]["Uniqueid"] == "1"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(1025, 5000), cut=st.integers(1, 64), data=st.data())
def test_huge_frames_anywhere_in_any_chunking_never_hide_the_next_frame(
    size: int, cut: int, data: st.DataObject
) -> None:
    stream = (
        b"Event: Before\r\nN: 1\r\n\r\n"
        + b"Event: Huge\r\nBlob: " + b"y" * size + b"\r\n\r\n"
        + b"Event: After\r\nN: 2\r\n\r\n"
    )  # fmt: skip
    codec = AmiCodec(expect_banner=False, max_frame_bytes=1024)
    frames: list[Frame] = []
    pos = 0
    while pos < len(stream):
        step = data.draw(st.integers(1, cut * 100))
        frames += codec.feed(stream[pos : pos + step])
        pos += step
    events = [f.event for f in frames if isinstance(f, Message)]
    assert events == ["Before", "After"]
    assert sum(isinstance(f, MalformedFrame) for f in frames) == 1


@given(garbage=st.binary(min_size=1, max_size=300))
def test_bytes_that_are_not_utf8_never_break_framing(garbage: bytes) -> None:
    clean = garbage.replace(b"\r", b"").replace(b"\n", b"")
    stream = b"Event: Odd\r\nCallerIDName: " + clean + b"\r\n\r\nEvent: Next\r\n\r\n"
    frames = AmiCodec(expect_banner=False).feed(stream)
    assert [f.event for f in frames if isinstance(f, Message)][-1] == "Next"
    odd = frames[0]
    if isinstance(odd, Message):
        assert odd["CallerIDName"] == clean.decode("utf-8", "replace")


@given(
    values=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            max_size=20,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_repeated_headers_all_arrive_in_order(values: list[str]) -> None:
    frame = encode_frame([("Event", "VarSet"), *(("Variable", v) for v in values)])
    (msg,) = AmiCodec(expect_banner=False).feed(frame)
    assert isinstance(msg, Message)
    assert msg.get_all("Variable") == [v for v in values]


def test_a_filter_skips_frames_nobody_reads_but_keeps_their_order_for_the_rest() -> None:
    codec = AmiCodec(expect_banner=False, wanted=lambda raw: not raw.startswith(b"Event: Newexten"))
    frames = codec.feed(
        b"Event: Newexten\r\nN: 1\r\n\r\nEvent: Hangup\r\nN: 2\r\n\r\n"
        b"Response: Success\r\nActionID: 9\r\n\r\nEvent: Newexten\r\n\r\n"
    )
    assert [(f.event, f.get("N")) for f in frames if isinstance(f, Message)] == [
        ("Hangup", "2"),
        (None, None),
    ]
    assert codec.skipped == 2
