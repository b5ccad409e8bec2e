"""The actions added for transfers, recording and phones answer with Asterisk 22's own
texts, and a SIP phone's registration shows as it does on a real switch (15)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

USER, SECRET = "callcenter", "callcenter-secret"
PHONE = "PJSIP/agent1001"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET})
    simulator.add_phone(PHONE, PhoneBehaviour(answer_after_s=0.01, registered=False))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def ami(sim: PbxSimulator) -> AsyncIterator[AmiProbe]:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    await probe.login(USER, SECRET)
    yield probe
    await probe.close()


async def test_transfer_bridge_and_mute_errors_read_as_asterisk_writes_them(
    ami: AmiProbe,
) -> None:
    answers = [
        await ami.request("BlindTransfer", [("Exten", "1003")]),
        await ami.request("BlindTransfer", [("Channel", "Local/x-00000000;1")]),
        await ami.request("BlindTransfer", [("Channel", "Local/x"), ("Exten", "1")]),
        await ami.request("Atxfer", [("Channel", "Local/x"), ("Exten", "1")]),
        await ami.request("Bridge", [("Channel1", "Local/x")]),
        await ami.request("Bridge", [("Channel1", "Local/x"), ("Channel2", "Local/y")]),
        await ami.request("MixMonitorMute", [("Channel", "Local/x"), ("State", "1")]),
        await ami.request(
            "MixMonitorMute", [("Channel", "Local/x"), ("Direction", "both"), ("State", "1")]
        ),
    ]
    assert [(a["Response"], a["Message"]) for a in answers] == [
        ("Error", "No channel specified"),
        ("Error", "No extension specified"),
        ("Error", "Channel specified does not exist"),
        ("Error", "Channel specified does not exist"),
        ("Error", "Missing channel parameter in request"),
        ("Error", "Channel1 does not exist: Local/x"),
        ("Error", "Invalid direction specified. Must be read, write or both"),
        ("Error", "No such channel"),
    ]


async def test_a_phone_registers_rings_talks_and_unregisters(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    sim.register_phone(PHONE)
    linkedid = sim.place_call(queue="sales", caller_number="+48221234567", talk_s=0.05)
    enqueue = await ami.wait_for(lambda m: m.event == "UserEvent" and m["Linkedid"] == linkedid)
    ami.send(
        "Originate",
        [
            ("Channel", PHONE),
            ("Context", "callcenter-connect"),
            ("Exten", "s"),
            ("Async", "true"),
            ("ChannelId", "leg-1"),
            ("Variable", f"CC_CALLER_CHANNEL={enqueue['Channel']}"),
        ],
    )
    await ami.wait_for(lambda m: m.event == "Hangup" and m["Uniqueid"] == "leg-1")
    sim.unregister_phone(PHONE)
    removed = await ami.wait_for(
        lambda m: m.event == "ContactStatus" and m["ContactStatus"] == "Removed"
    )
    assert removed["AOR"] == "agent1001"
    changes = [
        m.get("ContactStatus") or m.get("PeerStatus") or m.get("State")
        for m in ami.frames
        if m.event in ("ContactStatus", "PeerStatus", "DeviceStateChange")
    ]
    assert changes == [
        "NonQualified",
        "Reachable",
        "Reachable",
        "NOT_INUSE",
        "RINGING",
        "INUSE",
        "NOT_INUSE",
        "Unreachable",
        "UNAVAILABLE",
        "Removed",
    ]
