"""The chaos suite's summary table: one aligned plain-text row per scenario.

Why plain text: it is read in a terminal and pasted into issues and CI logs;
no dependency, no colours, columns that line up in any font.
"""

from __future__ import annotations

from collections.abc import Sequence

from callcenter.chaos.invariants import ChaosReport

COLUMNS = (
    "scenario",
    "faults",
    "placed",
    "answered",
    "abandoned",
    "closed(reason)",
    "unseen",
    "lost",
    "double offers",
    "dup records",
    "stuck agents",
    "result",
)

#: every report made in this process, in order (the pytest hook prints them)
REPORTS: list[ChaosReport] = []


def row(report: ChaosReport) -> tuple[str, ...]:
    return (
        report.scenario,
        str(report.faults),
        str(report.placed),
        str(report.answered),
        str(report.abandoned),
        str(report.closed_with_reason),
        str(report.unseen),
        str(len(report.lost)),
        str(len(report.double_offers)),
        str(len(report.duplicates)),
        str(len(report.stuck_agents)),
        "ok" if report.ok else "FAIL",
    )


def render(reports: Sequence[ChaosReport], extra: Sequence[tuple[str, ...]] = ()) -> str:
    """The table; ``extra`` rows (a scenario that errored before its check) are
    padded to the columns."""
    rows = [COLUMNS, *(row(r) for r in reports)]
    rows += [tuple(e) + ("",) * (len(COLUMNS) - len(e)) for e in extra]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])
