"""`callcenter bench e2e`: the switch-side stopwatch counts what the PBX really
did (enqueue to first Originate, legs rung at once), and a short run of the
whole service (a real ``callcenter serve``, the simulator over AMI, a page per
agent) answers every call, loses none and offers none twice."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from callcenter.ami.codec import encode_frame
from callcenter.ami.message import Message
from callcenter.bench.e2e import Stopwatch, table, targets
from callcenter.cli import app

CALLER = "Local/100@callcenter-inbound-00000001;2"


def frame(event: str, **headers: str) -> bytes:
    return encode_frame([("Event", event), ("Privilege", "call,all"), *headers.items()])


def originate(leg_id: str, caller: str = CALLER) -> Message:
    return Message.build(
        ("Action", "Originate"),
        ("Channel", "PJSIP/agent7"),
        ("ChannelId", leg_id),
        ("Variable", f"CC_CALLER_CHANNEL={caller}"),
    )


def test_the_stopwatch_times_a_call_from_its_enqueue_to_its_first_originate() -> None:
    watch = Stopwatch()
    watch.event(frame("Newchannel", Channel=CALLER, Uniqueid="u2", Linkedid="L1"))
    watch.event(frame("UserEvent", Channel=CALLER, Linkedid="L1", UserEvent="CallCenterEnqueue"))
    watch.action(originate("agentleg-c1-1"))
    watch.action(originate("agentleg-c1-2"))  # a second offer is not the arrival's
    assert set(watch.enqueued) == {"L1"}
    assert watch.first_originate["L1"] >= watch.enqueued["L1"]
    assert watch.linkedid_of_call == {"c1": "L1"}
    assert watch.originates == 2


def test_legs_rung_at_once_for_one_call_or_on_one_phone_are_double_offers() -> None:
    watch = Stopwatch()

    def leg(event: str, uniqueid: str, phone: str) -> None:
        watch.event(frame(event, Channel=f"{phone}-0000000a", Uniqueid=uniqueid, Linkedid="L"))

    leg("Newchannel", "agentleg-c1-1", "PJSIP/agent1")
    leg("Hangup", "agentleg-c1-1", "PJSIP/agent1")
    leg("Newchannel", "agentleg-c1-2", "PJSIP/agent2")  # one after the other: fine
    assert watch.double_offers == 0
    leg("Newchannel", "agentleg-c1-3", "PJSIP/agent3")  # c1 rings two agents
    assert watch.double_offers == 1
    leg("Newchannel", "agentleg-c2-1", "PJSIP/agent3")  # agent3 rung for two calls
    assert watch.double_offers == 2


def test_the_targets_and_the_table_say_what_failed() -> None:
    row = {
        "database": "sqlite", "rate": 200.0, "calls": 10, "answered": 10, "abandoned": 0,
        "lost": 0, "double_offers": 1, "arrival_to_originate_p50_ms": 1.0,
        "arrival_to_originate_p99_ms": 4.0, "pop_p99_ms": 9.0, "rss_mb": 100.0, "cpu_s": 3.0,
    }  # fmt: skip
    assert targets([row]) == {
        "lost_0": True,
        "double_offers_0": False,
        "arrival_to_originate_p99_under_5ms_at_200": True,
    }
    assert targets([]) == dict.fromkeys(targets([]), None)
    lines = table({"results": [row]}).splitlines()
    assert lines[0].split()[:3] == ["database", "rate", "calls"]
    assert lines[1].split()[:3] == ["sqlite", "200", "10"]


def test_a_short_run_answers_every_call_and_loses_none() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "e2e", "--json", "--agents", "40", "--rates", "2", "--seconds", "4",
         "--databases", "sqlite"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    (stage,) = figures["results"]
    assert figures["setups"][0]["pages_connected"] == 40
    assert stage["calls"] > 0
    assert stage["answered"] == stage["calls"], stage
    assert stage["lost"] == 0 and stage["double_offers"] == 0, stage
    assert stage["pops"] == stage["calls"], "every offered agent's page got the pop"
    assert stage["arrival_to_originate_p99_ms"] > 0
