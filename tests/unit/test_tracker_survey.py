"""The post-call survey in the tracker, from raw bytes: capture 06 (the agent hangs
up first) with the caller's ``UserEvent: CallCenterSurvey`` spliced in where
``[callcenter-survey]`` raises it, before the caller's own ``Hangup()``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from callcenter.ami import events as ev
from callcenter.replay import replay_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
CAPTURE = FIXTURES / "06-agent-hangs-up-first.ami"
LEG_ONE = b"Channel: Local/2003@agent-sim-0000000b;1"


def _frames(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n")


def _callers_last_step(frames: list[bytes]) -> int:
    """The caller's ;2 reaching ``Hangup()`` in ``callcenter-wait`` once its
    agent has gone: where a survey's UserEvent would come instead."""
    return next(
        i
        for i, f in enumerate(frames)
        if f.startswith(b"Event: Newexten")
        and b"Context: callcenter-wait" in f
        and b"Application: Hangup" in f
    )


def _user_event(channel_frame: bytes, score: str) -> bytes:
    """A UserEvent as Asterisk shapes it: the raising channel's headers, then
    the UserEvent's own."""
    lines = [
        line
        for line in channel_frame.split(b"\r\n")[2:]
        if not line.startswith((b"Extension:", b"Application:", b"AppData:"))
    ]
    head = [b"Event: UserEvent", b"Privilege: user,all"]
    tail = [b"UserEvent: CallCenterSurvey", b"Score: " + score.encode()]
    return b"\r\n".join(head + lines + tail)


def _replay(tmp_path: Path, score: str, *, from_leg: bool = False) -> list[ev.DomainEvent]:
    frames = _frames(CAPTURE.read_bytes())
    at = _callers_last_step(frames)
    raiser = frames[at]
    if from_leg:
        raiser = next(f for f in frames[:at] if LEG_ONE in f and b"Linkedid:" in f)
    frames.insert(at, _user_event(raiser, score))
    spliced = tmp_path / "06-with-survey.ami"
    spliced.write_bytes(b"\r\n\r\n".join(frames))
    shutil.copy(CAPTURE.with_suffix(".actions"), spliced.with_suffix(".actions"))
    return list(replay_events(spliced))


def test_a_score_keyed_after_the_agent_hung_up_reaches_the_call(tmp_path: Path) -> None:
    events = _replay(tmp_path, "4")
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("AgentHungUp") < kinds.index("SurveyAnswered") < kinds.index("CallEnded")
    survey = next(e for e in events if isinstance(e, ev.SurveyAnswered))
    assert (survey.linkedid, survey.score) == ("pbx1-1795387865.22", 4)
    ended = events[-1]
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "agent"


@pytest.mark.parametrize("score", ["0", "6", "45", "", "four", "4;9"])
def test_a_score_that_is_not_1_to_5_is_logged_and_dropped(tmp_path: Path, score: str) -> None:
    with capture_logs() as logs:
        events = _replay(tmp_path, score)
    assert not any(isinstance(e, ev.SurveyAnswered) for e in events)
    assert [log["event"] for log in logs] == ["survey score refused"]
    ended = events[-1]
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "agent", "the call ends as ever"


def test_a_survey_event_raised_by_the_agents_leg_is_not_the_callers_score(
    tmp_path: Path,
) -> None:
    events = _replay(tmp_path, "5", from_leg=True)
    assert not any(isinstance(e, ev.SurveyAnswered) for e in events)
    assert [type(e).__name__ for e in events] == [type(e).__name__ for e in replay_events(CAPTURE)]
