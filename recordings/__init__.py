"""Recordings: what happens to call audio after Asterisk writes it.

The dialplan starts MixMonitor (``callcenter-connect`` when ``CC_RECORD=1``)
and Asterisk writes one WAV per recorded agent leg. This package decides which
calls are recorded (``policy``), joins a call's legs into one recording and
maps its pauses (``audio``), encrypts it at rest (``crypto``), keeps it on disk
by date (``storage``) and says which recordings are past retention
(``retention``). It is logic and files only: no networking and no import of
``callcenter``, which drives it and owns the database rows.
"""

from recordings.audio import (
    Joined,
    LegAudio,
    Pause,
    Section,
    join_legs,
    pauses_in_joined,
    pauses_in_recording,
    zero_runs,
)
from recordings.crypto import MAGIC, RecordingCipher, RecordingCorrupt
from recordings.policy import MODES, should_record
from recordings.retention import Kept, due_for_deletion
from recordings.storage import (
    RecordingKeyMissing,
    RecordingPathError,
    RecordingStore,
    StoredFile,
)

__all__ = [
    "MAGIC",
    "MODES",
    "Joined",
    "Kept",
    "LegAudio",
    "Pause",
    "RecordingCipher",
    "RecordingCorrupt",
    "RecordingKeyMissing",
    "RecordingPathError",
    "RecordingStore",
    "Section",
    "StoredFile",
    "due_for_deletion",
    "join_legs",
    "pauses_in_joined",
    "pauses_in_recording",
    "should_record",
    "zero_runs",
]
