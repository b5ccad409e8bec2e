"""CSV exports of report rows and of any table (e.g. dormant customers).

Cells are written so a spreadsheet shows them as data: text starting with
``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) gets a leading ``'``,
so it is not run as a formula (CSV injection); numbers are written as numbers.
Report rows: rates with 4 decimals, seconds with 1, the CSAT mean with 2, and
a blank where a figure is None.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import date, datetime
from decimal import Decimal

from callcenter.reports.historical import ReportRow
from callcenter.reports.queue_figures import QueueFigures

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_RATES = frozenset({"service_level", "service_level_with_abandons", "abandon_rate"})

#: the columns of ``rows_to_csv``, in order
REPORT_COLUMNS: tuple[str, ...] = ("key", *(f.name for f in fields(QueueFigures)))


def rows_to_csv(rows: Sequence[ReportRow]) -> str:
    """A header and one line per row, the figures in ``QueueFigures`` order."""
    return records_to_csv(REPORT_COLUMNS, ([row.key, *_figure_cells(row.figures)] for row in rows))


def records_to_csv(header: Sequence[str], records: Iterable[Sequence[object]]) -> str:
    """Any table as CSV (RFC 4180 line ends), every cell guarded against formulas."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(name) for name in header])
    for record in records:
        writer.writerow([safe_cell(value) for value in record])
    return out.getvalue()


def safe_cell(value: object) -> str:
    """The text of one cell: blank for None, ISO 8601 for instants, text defused."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _figure_cells(figures: QueueFigures) -> list[str]:
    return [_figure_cell(f.name, getattr(figures, f.name)) for f in fields(figures)]


def _figure_cell(name: str, value: object) -> str:
    if not isinstance(value, float):
        return safe_cell(value)
    if name in _RATES:
        return f"{value:.4f}"
    if name == "csat_avg":
        return f"{value:.2f}"
    return f"{value:.1f}"
