"""The simulator's MixMonitor writes a real WAV file where Asterisk's would, over real
TCP: 8 kHz mono 16-bit, as long as the recorded leg talked, digital silence exactly
while it was muted (capture 07's MixMonitorMute), one file per recorded leg
(``CC_REC_PART``), none when the call is not recorded, and never outside the
spool whatever an Originate's variables say."""

from __future__ import annotations

import asyncio
import wave
from array import array
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
import structlog

from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.audio import RATE, Tape, recording_frames
from callcenter.pbxsim.probe import AmiProbe
from callcenter.pbxsim.recording import spool_file

USER, SECRET = "callcenter", "callcenter-secret"
PHONE = "Local/1001@agent-sim"
#: a run of zero samples this long (50 ms) is a mute, not a zero crossing
LONG_ZERO_RUN = RATE // 20
FILE_WAIT_S = 5.0


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    """Two levels down, so a name that climbs out of it still lands in ``tmp_path``."""
    return tmp_path / "pbx" / "spool"


@pytest_asyncio.fixture
async def sim(spool: Path) -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET}, recordings_dir=spool)
    simulator.add_phone(PHONE, PhoneBehaviour(answer_after_s=0.05))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def ami(sim: PbxSimulator) -> AsyncIterator[AmiProbe]:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    assert (await probe.login(USER, SECRET))["Response"] == "Success"
    yield probe
    await probe.close()


def event(name: str, **headers: str) -> Callable[[Message], bool]:
    return lambda m: m.event == name and all(m.get(k) == v for k, v in headers.items())


def zero_runs(samples: array[int]) -> list[tuple[int, int]]:
    """(first sample, length) of every run of exact zeros, in order."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, sample in enumerate(samples):
        if sample == 0 and start is None:
            start = i
        elif sample != 0 and start is not None:
            runs.append((start, i - start))
            start = None
    if start is not None:
        runs.append((start, len(samples) - start))
    return runs


def longest_zero_runs(samples: array[int], at_least: int = LONG_ZERO_RUN) -> list[tuple[int, int]]:
    """The zero runs of ``at_least`` samples or more: the muted stretches."""
    return [run for run in zero_runs(samples) if run[1] >= at_least]


def read_wav(path: Path) -> tuple[tuple[int, int, int], array[int]]:
    """((channels, sample width, rate), samples) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as wav:
        params = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
        samples = array("h", wav.readframes(wav.getnframes()))
    return params, samples


async def appears(path: Path) -> Path:
    """The file, once it is there (the simulator writes it off its loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FILE_WAIT_S
    while not path.exists():
        assert loop.time() < deadline, f"{path.name} never appeared"
        await asyncio.sleep(0.02)
    return path


async def recorded_leg(
    sim: PbxSimulator, ami: AmiProbe, leg_id: str, *variables: str
) -> tuple[Message, float]:
    """A caller waits, an agent leg is offered with ``variables`` and answers; the
    leg's MixMonitorStart (or its Bridge, unrecorded) and when it was seen."""
    linkedid = sim.place_call(queue="sales", caller_number="+14155550123", talk_s=60.0)
    caller = await ami.wait_for(event("UserEvent", Linkedid=linkedid))
    ami.send(
        "Originate",
        [
            ("Channel", PHONE),
            ("Context", "callcenter-connect"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ChannelId", leg_id),
            ("Variable", f"CC_CALLER_CHANNEL={caller['Channel']}"),
            *[("Variable", v) for v in variables],
        ],
    )
    bridge = await ami.wait_for(event("Newexten", Uniqueid=leg_id, Application="Bridge"))
    seen = asyncio.get_running_loop().time()
    started = [m for m in ami.events("MixMonitorStart") if m["Uniqueid"] == leg_id]
    return (started[0] if started else bridge), seen


async def hang_up(ami: AmiProbe, channel: str, leg_id: str) -> float:
    """Hang the leg up; when its Hangup was seen."""
    ami.send("Hangup", [("Channel", channel)])
    await ami.wait_for(event("Hangup", Uniqueid=leg_id))
    return asyncio.get_running_loop().time()


async def mute(ami: AmiProbe, channel: str, state: str) -> float:
    """MixMonitorMute both directions; when its event was seen."""
    start = len(ami.frames)
    answer = await ami.request(
        "MixMonitorMute", [("Channel", channel), ("Direction", "both"), ("State", state)]
    )
    assert answer["Response"] == "Success"
    await ami.wait_for(event("MixMonitorMute", Channel=channel, State=state), start=start)
    return asyncio.get_running_loop().time()


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


async def test_a_recorded_leg_is_a_wav_as_long_as_the_call_silent_exactly_while_muted(
    sim: PbxSimulator, ami: AmiProbe, spool: Path
) -> None:
    started, started_at = await recorded_leg(sim, ami, "leg-1", "CC_CALL_ID=c1", "CC_RECORD=1")
    assert started.event == "MixMonitorStart"
    channel = started["Channel"]
    await asyncio.sleep(0.3)
    muted_at = await mute(ami, channel, "1")
    await asyncio.sleep(1.0)
    resumed_at = await mute(ami, channel, "0")
    await asyncio.sleep(0.3)
    ended_at = await hang_up(ami, channel, "leg-1")

    params, samples = read_wav(await appears(spool / "c1.wav"))
    assert params == (1, 2, 8000)
    assert len(samples) / RATE == pytest.approx(ended_at - started_at, abs=0.5)
    [(first, length)] = longest_zero_runs(samples)
    assert length / RATE == pytest.approx(resumed_at - muted_at, abs=0.25)
    assert first / RATE == pytest.approx(muted_at - started_at, abs=0.25)
    assert files_under(spool) == [spool / "c1.wav"], "no temporary file is left"


async def test_an_unmuted_recording_has_no_silence_and_the_same_call_gives_the_same_bytes(
    sim: PbxSimulator, ami: AmiProbe, spool: Path
) -> None:
    started, _ = await recorded_leg(sim, ami, "leg-1", "CC_CALL_ID=c2", "CC_RECORD=1")
    await asyncio.sleep(0.4)
    await hang_up(ami, started["Channel"], "leg-1")
    path = await appears(spool / "c2.wav")
    _, samples = read_wav(path)
    assert len(samples) > RATE // 4
    assert all(length <= 3 for _, length in zero_runs(samples))
    assert samples.tobytes() == recording_frames(Tape(path, 0.0).seed, len(samples), [])


async def test_an_unrecorded_leg_writes_no_file(
    sim: PbxSimulator, ami: AmiProbe, spool: Path
) -> None:
    bridge, _ = await recorded_leg(sim, ami, "leg-1", "CC_CALL_ID=c3", "CC_RECORD=0")
    assert bridge.event == "Newexten" and not ami.events("MixMonitorStart")
    await hang_up(ami, bridge["Channel"], "leg-1")
    await sim.stop()  # waits for any file still being written
    assert files_under(spool.parent.parent) == []


async def test_a_later_leg_of_the_call_is_its_own_part(
    sim: PbxSimulator, ami: AmiProbe, spool: Path
) -> None:
    started, _ = await recorded_leg(
        sim, ami, "leg-2", "CC_CALL_ID=c4", "CC_RECORD=1", "CC_REC_PART=-2"
    )
    exec_if = await ami.wait_for(event("Newexten", Uniqueid="leg-2", Application="ExecIf"))
    assert exec_if["AppData"] == "1?MixMonitor(/var/spool/asterisk/monitor/c4-2.wav,b)"
    await hang_up(ami, started["Channel"], "leg-2")
    await appears(spool / "c4-2.wav")
    assert not (spool / "c4.wav").exists()


@pytest.mark.parametrize(
    "variables",
    [
        ("CC_CALL_ID=../../escape", "CC_RECORD=1"),
        ("CC_CALL_ID=c5", "CC_RECORD=1", "CC_REC_PART=/../../../escape"),
        ("CC_CALL_ID=.hidden", "CC_RECORD=1"),
    ],
)
async def test_a_hostile_file_name_is_recorded_on_the_wire_but_never_written(
    sim: PbxSimulator, ami: AmiProbe, spool: Path, tmp_path: Path, variables: tuple[str, ...]
) -> None:
    with structlog.testing.capture_logs() as logs:
        started, _ = await recorded_leg(sim, ami, "leg-1", *variables)
    assert started.event == "MixMonitorStart", "the PBX still runs MixMonitor"
    await hang_up(ami, started["Channel"], "leg-1")
    await sim.stop()
    assert files_under(tmp_path) == [], "nothing written, in the spool or above it"
    assert any("not written" in entry["event"] for entry in logs)


def test_only_a_plain_wav_name_right_in_the_spool_maps_to_the_directory(tmp_path: Path) -> None:
    spool = "/var/spool/asterisk/monitor"
    assert spool_file(tmp_path, f"{spool}/c1-2.wav") == tmp_path / "c1-2.wav"
    assert spool_file(tmp_path, f"{spool}/call_7.v2.wav") == tmp_path / "call_7.v2.wav"
    for hostile in (
        f"{spool}/../c1.wav",
        f"{spool}/a/b.wav",
        f"{spool}/a..b.wav",
        f"{spool}/.wav",
        f"{spool}/c1.gsm",
        f"{spool}/c 1.wav",
        "/tmp/c1.wav",
        "c1.wav",
        f"{spool}/c1.wav/",
    ):
        assert spool_file(tmp_path, hostile) is None, hostile
