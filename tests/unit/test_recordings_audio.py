"""Joining a call's leg files into one recording, finding silence, mapping pauses."""

from __future__ import annotations

import io
import math
import wave
from collections.abc import Sequence
from pathlib import Path

import pytest

from recordings import (
    LegAudio,
    Pause,
    Section,
    join_legs,
    pauses_in_joined,
    pauses_in_recording,
    zero_runs,
)
from recordings.audio import samples

RATE = 8000
T0 = 1_700_000_000.0  # epoch of the first leg's first sample


def stamp(at: float) -> int:
    """A sample value that says when (frames after T0) it was recorded, never 0,
    so the joined audio shows which instant of the call each sample is."""
    return round((at - T0) * RATE) % 30_000 + 1


def wav_bytes(values: Sequence[int], *, rate: int = RATE, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"".join(v.to_bytes(2, "little", signed=True) for v in values))
    return buffer.getvalue()


def leg_file(
    tmp_path: Path,
    leg_id: str,
    started_at: float,
    duration_s: float,
    *,
    agent_id: int | None = 1,
    silent: Sequence[tuple[float, float]] = (),
) -> LegAudio:
    """A leg recorded from ``started_at`` for ``duration_s``: stamped audio, exact
    zeros over ``silent`` (epoch start, epoch end)."""
    values = []
    for i in range(round(duration_s * RATE)):
        at = started_at + i / RATE
        muted = any(start <= at < end for start, end in silent)
        values.append(0 if muted else stamp(at))
    path = tmp_path / f"{leg_id}.wav"
    path.write_bytes(wav_bytes(values))
    return LegAudio(leg_id=leg_id, agent_id=agent_id, started_at=started_at, path=path)


def read_params(wav: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return (
            reader.getframerate(),
            reader.getsampwidth(),
            reader.getnchannels(),
            reader.getnframes(),
        )


def expected_stamps(*spans: tuple[float, float]) -> list[int]:
    return [
        stamp(start + i / RATE) for start, end in spans for i in range(round((end - start) * RATE))
    ]


def test_one_leg_is_the_recording(tmp_path: Path) -> None:
    leg = leg_file(tmp_path, "c1", T0, 2.5, agent_id=7)
    joined = join_legs([leg])
    assert joined.duration_s == 2.5
    assert joined.missing == []
    assert joined.sections == [Section("c1", 7, offset_s=0.0, duration_s=2.5)]
    assert read_params(joined.wav) == (RATE, 2, 1, 20_000)
    assert joined.wav == leg.path.read_bytes()


def test_an_overlap_is_taken_once_from_the_earlier_leg(tmp_path: Path) -> None:
    first = leg_file(tmp_path, "c1", T0, 3.0, agent_id=1)  # T0 .. T0+3
    second = leg_file(tmp_path, "c1-2", T0 + 2.0, 4.0, agent_id=2)  # T0+2 .. T0+6
    joined = join_legs([second, first])  # order given does not matter
    assert joined.duration_s == 6.0  # the union, not 3 + 4
    assert joined.sections == [
        Section("c1", 1, offset_s=0.0, duration_s=3.0),
        Section("c1-2", 2, offset_s=3.0, duration_s=3.0, skipped_s=1.0),
    ]
    # every instant once, in order: the joined audio is T0 .. T0+6 without a seam
    assert list(samples(joined.wav)) == expected_stamps((T0, T0 + 6.0))


def test_a_leg_wholly_inside_earlier_audio_adds_nothing(tmp_path: Path) -> None:
    outer = leg_file(tmp_path, "c1", T0, 5.0)
    inner = leg_file(tmp_path, "c1-2", T0 + 1.0, 2.0, agent_id=2)
    joined = join_legs([outer, inner])
    assert joined.duration_s == 5.0
    assert [s.leg_id for s in joined.sections] == ["c1"]
    assert joined.missing == []


def test_a_gap_between_legs_is_not_filled(tmp_path: Path) -> None:
    first = leg_file(tmp_path, "c1", T0, 2.0, agent_id=1)
    # the caller waited in the queue for 8 s after a blind transfer
    second = leg_file(tmp_path, "c1-2", T0 + 10.0, 3.0, agent_id=2)
    joined = join_legs([first, second])
    assert joined.duration_s == 5.0
    assert joined.sections == [
        Section("c1", 1, offset_s=0.0, duration_s=2.0),
        Section("c1-2", 2, offset_s=2.0, duration_s=3.0),
    ]
    assert list(samples(joined.wav)) == expected_stamps((T0, T0 + 2.0), (T0 + 10.0, T0 + 13.0))
    assert zero_runs(joined.wav, 0.001) == []  # no silence was invented


def test_missing_unreadable_and_foreign_files_are_reported_not_raised(tmp_path: Path) -> None:
    good = leg_file(tmp_path, "c1", T0, 1.0)
    gone = LegAudio("c1-2", 2, T0 + 2.0, tmp_path / "never-written.wav")
    garbage_path = tmp_path / "c1-3.wav"
    garbage_path.write_bytes(b"RIFF\x00\x00not a wav at all")
    garbage = LegAudio("c1-3", 3, T0 + 3.0, garbage_path)
    wideband_path = tmp_path / "c1-4.wav"
    wideband_path.write_bytes(wav_bytes([5] * 16_000, rate=16_000))
    wideband = LegAudio("c1-4", 4, T0 + 4.0, wideband_path)
    directory = LegAudio("c1-5", 5, T0 + 5.0, tmp_path)
    joined = join_legs([good, gone, garbage, wideband, directory])
    assert joined.missing == ["c1-2", "c1-3", "c1-4", "c1-5"]
    assert [s.leg_id for s in joined.sections] == ["c1"]
    assert joined.duration_s == 1.0
    assert read_params(joined.wav) == (RATE, 2, 1, RATE)


def test_the_first_readable_leg_sets_the_format(tmp_path: Path) -> None:
    gone = LegAudio("c1", 1, T0, tmp_path / "gone.wav")
    path = tmp_path / "c1-2.wav"
    path.write_bytes(wav_bytes([3, 4] * 16_000, rate=16_000, channels=2))
    joined = join_legs([gone, LegAudio("c1-2", 2, T0 + 1, path)])
    assert joined.missing == ["c1"]
    assert read_params(joined.wav) == (16_000, 2, 2, 16_000)
    assert joined.duration_s == 1.0


def test_a_file_cut_short_keeps_the_whole_frames_it_has(tmp_path: Path) -> None:
    leg = leg_file(tmp_path, "c1", T0, 1.0)
    data = leg.path.read_bytes()
    leg.path.write_bytes(data[: len(data) - 2 * 4000 - 1])  # half a second and a byte gone
    joined = join_legs([leg])
    assert joined.missing == []
    assert read_params(joined.wav)[3] == 3999
    assert list(samples(joined.wav)) == expected_stamps((T0, T0 + 3999 / RATE))


@pytest.mark.parametrize("present", [False, True])
def test_no_usable_leg_gives_an_empty_valid_wav(tmp_path: Path, present: bool) -> None:
    legs = [LegAudio("c1", 1, T0, tmp_path / "nothing.wav")] if present else []
    joined = join_legs(legs)
    assert joined.duration_s == 0
    assert joined.sections == []
    assert joined.missing == (["c1"] if present else [])
    assert read_params(joined.wav) == (RATE, 2, 1, 0)
    assert zero_runs(joined.wav, 0.0) == []


def test_zero_runs_finds_a_paused_span_of_the_right_length() -> None:
    values = [100] * 8000 + [0] * 12_000 + [-100] * 4000 + [0] * 400 + [7] * 10
    wav = wav_bytes(values)
    assert zero_runs(wav, 1.0) == [(1.0, 1.5)]
    assert zero_runs(wav, 0.05) == [(1.0, 1.5), (3.0, 0.05)]
    assert zero_runs(wav, 1.6) == []
    assert zero_runs(wav, 1.5) == [(1.0, 1.5)]  # exactly min_s long counts


def test_zero_runs_counts_whole_zero_samples_only() -> None:
    # 256 is b"\x00\x01" and 1 is b"\x01\x00": zero bytes either side of the
    # silent samples must not stretch the run
    wav = wav_bytes([5, 256, 0, 0, 0, 1, 0])
    assert zero_runs(wav, 0.0) == [(2 / RATE, 3 / RATE), (6 / RATE, 1 / RATE)]


def test_zero_runs_needs_every_channel_silent() -> None:
    wav = wav_bytes([0, 0, 0, 9, 0, 9, 0, 0], channels=2)  # frames: (0,0) (0,9) (0,9) (0,0)
    assert zero_runs(wav, 0.0) == [(0.0, 1 / RATE), (3 / RATE, 1 / RATE)]


def test_zero_runs_refuses_what_is_not_a_wav() -> None:
    with pytest.raises(ValueError, match="WAV"):
        zero_runs(b"hello", 1.0)
    with pytest.raises(ValueError):
        zero_runs(wav_bytes([0]), -1.0)


def test_a_paused_span_maps_onto_the_silence_in_the_joined_recording(tmp_path: Path) -> None:
    first = leg_file(tmp_path, "c1", T0, 3.0, agent_id=1)
    # the second agent paused from T0+4 to T0+5 (card number read out)
    second = leg_file(tmp_path, "c1-2", T0 + 2.0, 4.0, agent_id=2, silent=[(T0 + 4.0, T0 + 5.0)])
    joined = join_legs([first, second])
    pauses = pauses_in_joined([first, second], joined, {"c1-2": [(T0 + 4.0, T0 + 5.0, "agent:2")]})
    assert pauses == [Pause(start_s=4.0, duration_s=1.0, by="agent:2")]
    assert zero_runs(joined.wav, 0.5) == [(4.0, 1.0)]


def test_pauses_map_across_two_sections(tmp_path: Path) -> None:
    first = leg_file(tmp_path, "c1", T0, 3.0, agent_id=1)  # recording 0..3
    second = leg_file(tmp_path, "c1-2", T0 + 2.0, 4.0, agent_id=2)  # recording 3..6
    third = leg_file(tmp_path, "c1-3", T0 + 20.0, 2.0, agent_id=3)  # after a gap: 6..8
    joined = join_legs([first, second, third])
    s1, s2, s3 = joined.sections
    # first leg: paused from T0+0.5 to 1.0, and again from T0+2.5 to its hangup
    assert pauses_in_recording(
        first, s1, [(T0 + 2.5, math.inf, "sup"), (T0 + 0.5, T0 + 1.0, "agent:1")]
    ) == [Pause(0.5, 0.5, "agent:1"), Pause(2.5, 0.5, "sup")]
    # second leg: its pause during the overlap is not its part of the recording;
    # one that runs on past the first leg's hangup is, from the section's start
    assert pauses_in_recording(
        second, s2, [(T0 + 2.1, T0 + 2.9, "agent:2"), (T0 + 2.5, T0 + 4.0, "agent:2")]
    ) == [Pause(3.0, 1.0, "agent:2")]
    # third leg, after the gap: offsets count from where it starts in the recording
    assert pauses_in_recording(third, s3, [(T0 + 21.0, T0 + 21.25, "agent:3")]) == [
        Pause(7.0, 0.25, "agent:3")
    ]
    # mutes outside what a leg contributed (before it, after its hangup) vanish
    assert pauses_in_recording(third, s3, [(T0, T0 + 19.0, "x"), (T0 + 23, T0 + 30, "x")]) == []
    everything = pauses_in_joined(
        [first, second, third],
        joined,
        {
            "c1": [(T0 + 2.5, T0 + 10.0, "sup")],
            "c1-2": [(T0 + 2.5, T0 + 4.0, "agent:2")],
            "c1-3": [(T0 + 21.0, T0 + 21.25, "agent:3")],
        },
    )
    assert everything == [
        Pause(2.5, 0.5, "sup"),
        Pause(3.0, 1.0, "agent:2"),
        Pause(7.0, 0.25, "agent:3"),
    ]


def test_a_section_of_another_leg_is_refused(tmp_path: Path) -> None:
    first = leg_file(tmp_path, "c1", T0, 1.0)
    second = leg_file(tmp_path, "c1-2", T0 + 1.0, 1.0)
    joined = join_legs([first, second])
    with pytest.raises(ValueError, match="c1-2"):
        pauses_in_recording(first, joined.sections[1], [])
