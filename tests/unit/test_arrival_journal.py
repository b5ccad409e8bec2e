"""The arrival journal: what a process noted and did not see written is found
by the next one, and nothing else is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from callcenter.arrival_journal import FileArrivalJournal, directory_for, recover_arrivals
from callcenter.orchestration.ports import Arrival

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def arrival(n: int) -> Arrival:
    return Arrival(f"c{n}", "pbx1", f"170000000{n}.1", "sales", "+14155550100", T0)


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("arrivals-*.jsonl"))


def test_arrivals_of_a_process_killed_with_minus_9_are_found_by_the_next(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from datetime import UTC, datetime
        from pathlib import Path
        from callcenter.arrival_journal import FileArrivalJournal
        from callcenter.orchestration.ports import Arrival

        journal = FileArrivalJournal(Path({str(tmp_path)!r}))
        at = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
        written = [
            journal.note(Arrival(f"c{{n}}", "pbx1", f"l{{n}}", "sales", "+1415", at))
            for n in range(3)
        ]
        written[1]()
        print("noted", flush=True)
        sys.stdin.readline()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "noted\n"
            # alive, it holds its segment: nobody else takes it
            assert FileArrivalJournal(tmp_path).left_behind().arrivals == []
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait(10)

    left = FileArrivalJournal(tmp_path).left_behind()
    # an arrival seen written is not told apart in its segment: the database
    # skips what it has (``CallRecorder.arrivals_recovered``)
    assert [a.call_id for a in left.arrivals] == ["c0", "c1", "c2"]
    assert left.arrivals[0] == Arrival("c0", "pbx1", "l0", "sales", "+1415", T0)
    left.forget()
    assert segments(tmp_path) == []


def test_a_clean_stop_leaves_nothing_once_every_arrival_is_written(tmp_path: Path) -> None:
    journal = FileArrivalJournal(tmp_path)
    for written in [journal.note(arrival(n)) for n in range(3)]:
        written()
    journal.close()
    assert segments(tmp_path) == []
    assert FileArrivalJournal(tmp_path).left_behind().arrivals == []


def test_a_clean_stop_with_arrivals_unwritten_keeps_them(tmp_path: Path) -> None:
    """The database was down at the stop: the next start writes them."""
    journal = FileArrivalJournal(tmp_path)
    journal.note(arrival(1))()
    journal.note(arrival(2))
    journal.close()
    assert [a.call_id for a in FileArrivalJournal(tmp_path).left_behind().arrivals] == [
        "c1",
        "c2",
    ]


def test_a_full_segment_goes_once_all_of_it_is_written(tmp_path: Path) -> None:
    journal = FileArrivalJournal(tmp_path, segment_entries=2)
    first, second, third = (journal.note(arrival(n)) for n in range(3))
    assert len(segments(tmp_path)) == 2
    first()
    assert len(segments(tmp_path)) == 2  # the second of its arrivals is unwritten
    second()
    assert len(segments(tmp_path)) == 1
    second()  # told twice: no harm
    third()
    journal.note(arrival(4))()
    journal.note(arrival(5))  # a third segment; the second, all written, goes
    assert len(segments(tmp_path)) == 1
    journal.close()


def test_a_journal_line_that_cannot_be_read_is_passed_over(tmp_path: Path) -> None:
    journal = FileArrivalJournal(tmp_path)
    journal.note(arrival(1))
    journal.close()
    (path,) = segments(tmp_path)
    with path.open("a") as lines:
        lines.write('{"call_id": 7}\n')
        lines.write("not json\n")
        lines.write('{"call_id":"c9","pbx":"p","linkedid":"l"\n')  # cut short
        lines.write(
            '{"call_id":"c3","pbx":"pbx1","linkedid":"l3","queue":"sales",'
            '"caller_number":"+1","enqueued_at":"2026-12-08T09:00:00+00:00"}\n'
        )
        lines.write(
            '{"call_id":"c4","pbx":"pbx1","linkedid":"l4","queue":"sales",'
            '"caller_number":"+1","enqueued_at":"2026-12-08T09:00:00"}\n'  # no zone
        )
    assert [a.call_id for a in FileArrivalJournal(tmp_path).left_behind().arrivals] == [
        "c1",
        "c3",
    ]


def test_a_journal_in_use_is_not_taken_by_another(tmp_path: Path) -> None:
    """Two nodes may share a directory: one's live segment is not the other's
    to recover (its process is alive; its arrivals are on their way)."""
    live = FileArrivalJournal(tmp_path)
    live.note(arrival(1))
    assert FileArrivalJournal(tmp_path).left_behind().arrivals == []
    live.close()
    assert len(FileArrivalJournal(tmp_path).left_behind().arrivals) == 1


def test_journal_files_are_readable_by_the_service_alone(tmp_path: Path) -> None:
    """A line holds the caller's number."""
    journal = FileArrivalJournal(tmp_path / "j")
    journal.note(arrival(1))
    (path,) = segments(tmp_path / "j")
    assert path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "j").stat().st_mode & 0o077 == 0
    journal.close()


def test_a_disk_that_refuses_the_journal_does_not_stop_the_call(tmp_path: Path) -> None:
    journal = FileArrivalJournal(tmp_path / "j")
    (tmp_path / "j").rmdir()  # gone under it: the next segment cannot be made
    written = journal.note(arrival(1))
    written()  # nothing to forget, and no error


def test_each_database_has_a_journal_of_its_own(tmp_path: Path) -> None:
    one = directory_for(tmp_path, "sqlite+aiosqlite:////tmp/a.db")
    assert one == directory_for(tmp_path, "sqlite+aiosqlite:////tmp/a.db")
    assert one != directory_for(tmp_path, "sqlite+aiosqlite:////tmp/b.db")
    with_password = directory_for(tmp_path, "postgresql+asyncpg://u:secret@h/db")
    assert "secret" not in str(with_password)
    assert with_password.parent == tmp_path


async def test_arrivals_are_kept_when_the_database_refuses_them(tmp_path: Path) -> None:
    journal = FileArrivalJournal(tmp_path)
    journal.note(arrival(1))
    journal.close()

    async def refuse(arrivals: list[Arrival]) -> int:
        raise RuntimeError("refused")

    assert await recover_arrivals(FileArrivalJournal(tmp_path), refuse) == 0
    assert len(segments(tmp_path)) == 1

    got: list[str] = []

    async def write(arrivals: list[Arrival]) -> int:
        got.extend(a.call_id for a in arrivals)
        return 1

    assert await recover_arrivals(FileArrivalJournal(tmp_path), write) == 1
    assert got == ["c1"]
    assert segments(tmp_path) == []
