"""CSV exports: stable columns, formatted figures, formula injection defused."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from callcenter.reports import (
    REPORT_COLUMNS,
    CallFact,
    Period,
    ReportPolicy,
    historical,
    records_to_csv,
    rows_to_csv,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_report_rows_as_csv() -> None:
    calls = [
        CallFact(
            f"c{n}",
            '=HYPERLINK("http://evil")',
            T0,
            "answered",
            answered_at=T0 + timedelta(seconds=wait),
            ended_at=T0 + timedelta(seconds=wait + 100),
        )
        for n, wait in enumerate((10, 15, 40))
    ]
    rows = historical(
        calls, Period(T0, T0 + timedelta(hours=1)), ReportPolicy(), group_by="queue", tz="UTC"
    )
    table = parse(rows_to_csv(rows))
    assert table[0] == list(REPORT_COLUMNS)
    assert table[0][:4] == ["key", "offered", "answered", "answered_within"]
    line = dict(zip(table[0], table[1], strict=True))
    assert line["key"] == '\'=HYPERLINK("http://evil")'  # a queue name is text, defused
    assert line["service_level"] == "0.6667"  # 2 of 3 within 20 s
    assert line["asa_s"] == "21.7"  # (10 + 15 + 40) / 3
    assert line["abandon_rate"] == "0.0000"
    assert line["csat_avg"] == ""  # None
    assert line["offered"] == "3"


def test_records_guard_against_formula_injection() -> None:
    text = records_to_csv(
        ["name", "phone", "note", "value", "delta", "missing", "since"],
        [
            ["=1+2", "+33 1 23 45 67 89", "@SUM(A1)", 1500.5, -5, None, datetime(2025, 1, 2)],
            ["-2+3", "\tcmd", "plain, with comma", 0, 0.25, "", "x"],
        ],
    )
    assert text.startswith("name,phone,note,value,delta,missing,since\r\n")
    assert parse(text)[1:] == [
        ["'=1+2", "'+33 1 23 45 67 89", "'@SUM(A1)", "1500.5", "-5", "", "2025-01-02T00:00:00"],
        ["'-2+3", "'\tcmd", "plain, with comma", "0", "0.25", "", "x"],
    ]
