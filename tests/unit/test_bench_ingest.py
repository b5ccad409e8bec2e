"""`callcenter bench ingest`: the generated traffic is valid AMI the tracker understands,
and the three measured paths see the same events. Timings are never asserted."""

from __future__ import annotations

import json
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from callcenter.ami import events as ev
from callcenter.ami.codec import AmiCodec
from callcenter.ami.message import Banner, MalformedFrame, Message
from callcenter.bench import ingest
from callcenter.cli import app

EVENTS = 4000
#: Odd-sized reads: most end inside a frame, some inside a multi-byte character.
SMALL_READ = 997

CHANNEL_HEADERS = [
    "Event",
    "Privilege",
    "SystemName",
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
]
FIGURES = {
    "events": int,
    "events_per_s": int,
    "baseline_events_per_s": int,
    "panoramisk_events_per_s": int,
    "ratio_to_baseline": float,
    "ratio_to_panoramisk": float,
    "bytes": int,
    "calls": int,
    "domain_events": int,
    "chunk_bytes": int,
}


@pytest.fixture(scope="module")
def traffic() -> ingest.Traffic:
    return ingest.generate(EVENTS, seed=7)


def _frames(data: bytes, read: int) -> list[Message | Banner | MalformedFrame]:
    codec = AmiCodec(expect_banner=True)
    return [frame for chunk in ingest.chunked(data, read) for frame in codec.feed(chunk)]


def test_generation_is_deterministic_and_reaches_the_event_count(
    traffic: ingest.Traffic,
) -> None:
    again = ingest.generate(EVENTS, seed=7)
    assert again.data == traffic.data and again.calls == traffic.calls
    assert ingest.generate(EVENTS, seed=8).data != traffic.data
    assert traffic.events >= EVENTS


def test_the_stream_is_valid_ami_with_asterisk_full_header_sets(traffic: ingest.Traffic) -> None:
    frames = _frames(traffic.data, SMALL_READ)
    assert frames[0] == Banner("Asterisk Call Manager/11.0.0")
    messages = frames[1:]
    assert not [f for f in messages if not isinstance(f, Message)]  # no MalformedFrame
    assert len(messages) == traffic.events
    events = [m for m in messages if isinstance(m, Message)]
    assert all(m.event and m["SystemName"] == "pbx1" for m in events)
    kinds = Counter(m.event for m in events)
    for name in (
        "Newchannel",
        "Newstate",
        "VarSet",
        "DialBegin",
        "DialEnd",
        "BridgeEnter",
        "BridgeLeave",
        "Hangup",
        "UserEvent",
        "OriginateResponse",
    ):
        assert kinds[name] > 0, name
    newchannel = next(m for m in events if m.event == "Newchannel")
    assert [name for name, _ in newchannel.headers] == CHANNEL_HEADERS
    hangup = next(m for m in events if m.event == "Hangup")
    assert [name for name, _ in hangup.headers] == [*CHANNEL_HEADERS, "Cause", "Cause-txt"]
    dial = next(m for m in events if m.event == "DialBegin")
    assert "DestChannelStateDesc" in dial and "DestLinkedid" in dial
    bridge = next(m for m in events if m.event == "BridgeEnter")
    assert "BridgeUniqueid" in bridge and "BridgeNumChannels" in bridge and "Linkedid" in bridge


def test_the_tracker_finds_every_generated_call_and_how_it_went(traffic: ingest.Traffic) -> None:
    chunks = ingest.chunked(traffic.data, SMALL_READ)
    # Some read really does end inside a multi-byte character.
    assert any(chunk[0] & 0xC0 == 0x80 for chunk in chunks[1:])
    record: list[ev.DomainEvent] = []
    result = ingest.ingest(chunks, traffic.offers(), record)

    assert result.events == traffic.events and result.malformed == 0
    assert result.live_calls == ()  # every call ended
    assert result.domain_events == len(record)
    kinds = Counter(call.kind for call in traffic.calls)
    assert set(kinds) == set(ingest.CALL_MIX)  # every kind of call was generated
    answered = sum(kinds[k] for k in ingest.ANSWERED_KINDS)

    arrived = {e.linkedid: e for e in record if isinstance(e, ev.CallArrived)}
    assert len(arrived) == len(traffic.calls)
    for call in traffic.calls:
        seen = arrived[call.linkedid]
        assert (seen.caller_name, seen.caller_number, seen.queue) == (
            call.caller_name,
            call.caller_number,
            call.queue,
        )
    assert set(ingest.UTF8_NAMES) & {e.caller_name for e in arrived.values()}

    ended = Counter(e.ended_by for e in record if isinstance(e, ev.CallEnded))
    assert ended == {"caller": len(traffic.calls) - kinds["agent_hangs_up"]} | {
        "agent": kinds["agent_hangs_up"]
    }
    assert sum(isinstance(e, ev.Bridged) for e in record) == answered
    assert sum(isinstance(e, ev.AgentLegAnswered) for e in record) == answered
    assert sum(isinstance(e, ev.AgentHungUp) for e in record) == answered
    offers = sum(len(call.offers) for call in traffic.calls)
    assert sum(isinstance(e, ev.AgentLegRinging) for e in record) == offers
    failed = Counter(e.reason for e in record if isinstance(e, ev.AgentLegFailed))
    assert failed == {
        "no_answer": kinds["no_answer_then_answered"],
        "canceled": kinds["abandon_ringing"],
    }
    phases = Counter(e.phase for e in record if isinstance(e, ev.CallerHungUp))
    assert phases == {
        "talking": answered,
        "waiting": kinds["abandon_waiting"],
        "ringing": kinds["abandon_ringing"],
    }


def test_the_baseline_and_panoramisk_count_the_same_events(traffic: ingest.Traffic) -> None:
    for read in (SMALL_READ, ingest.READ_SIZE):
        chunks = ingest.chunked(traffic.data, read)
        assert ingest.bare_split(chunks) == traffic.events
        assert ingest.panoramisk_parse(chunks) == traffic.events


def test_run_returns_the_figures() -> None:
    figures = ingest.run(2000, repeats=1)
    for key, kind in FIGURES.items():
        assert isinstance(figures[key], kind), key
    assert figures["events"] >= 2000 and figures["chunk_bytes"] == 64 * 1024
    assert figures["events_per_s"] > 0 and figures["panoramisk_events_per_s"] > 0
    assert figures["domain_events"] > figures["calls"] > 0


def test_the_command_prints_one_json_object() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--json", "--events", "1000"])
    assert result.exit_code == 0, result.output
    assert result.output.count("\n") == 1
    figures = json.loads(result.stdout)
    assert set(FIGURES) <= set(figures) and figures["events"] >= 1000


def test_the_command_refuses_too_few_events() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "10"])
    assert result.exit_code != 0


def test_without_panoramisk_run_says_to_install_the_dev_extras(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "panoramisk.ami_protocol", None)
    with pytest.raises(RuntimeError, match="dev extras"):
        ingest.run(1000, repeats=1)
