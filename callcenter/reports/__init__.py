"""Reports: wallboard and historical figures computed from plain facts.

Pure like the router: no I/O, no database, no clock. The DB loader turns rows
into facts (``facts``), the caller picks a period (``periods``) and the
functions here return value objects with ``as_json``. Definitions are in the
module docstrings and in docs/reports.md.
"""

from callcenter.reports.agent_figures import (
    AgentFigures,
    StateSpan,
    agent_figures,
    agents_by_state,
    floor_occupancy,
    last_states,
    state_spans,
)
from callcenter.reports.csat import csat_by_agent, csat_by_queue, csat_of
from callcenter.reports.csv_export import REPORT_COLUMNS, records_to_csv, rows_to_csv, safe_cell
from callcenter.reports.erlang import (
    StaffingFigures,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    service_level,
    staffing,
)
from callcenter.reports.facts import CallFact, ContactFact, LegFact, StateChange
from callcenter.reports.fcr import FcrFigures, FcrReport, first_contact_resolution
from callcenter.reports.historical import GroupBy, ReportRow, historical
from callcenter.reports.periods import (
    Period,
    day_so_far,
    local_day,
    local_days,
    local_hours,
    sliding_window,
)
from callcenter.reports.queue_figures import (
    QueueFigures,
    ReportPolicy,
    figures_of,
    overall_figures,
    queue_figures,
)
from callcenter.reports.seats import DayPeak, concurrent_logged_in, daily_peaks, logged_in_at

__all__ = [
    "REPORT_COLUMNS",
    "AgentFigures",
    "CallFact",
    "ContactFact",
    "DayPeak",
    "FcrFigures",
    "FcrReport",
    "GroupBy",
    "LegFact",
    "Period",
    "QueueFigures",
    "ReportPolicy",
    "ReportRow",
    "StaffingFigures",
    "StateChange",
    "StateSpan",
    "agent_figures",
    "agents_by_state",
    "agents_needed",
    "average_speed_of_answer",
    "concurrent_logged_in",
    "csat_by_agent",
    "csat_by_queue",
    "csat_of",
    "daily_peaks",
    "day_so_far",
    "erlang_b",
    "erlang_c",
    "figures_of",
    "first_contact_resolution",
    "floor_occupancy",
    "historical",
    "last_states",
    "local_day",
    "local_days",
    "local_hours",
    "logged_in_at",
    "overall_figures",
    "queue_figures",
    "records_to_csv",
    "rows_to_csv",
    "safe_cell",
    "service_level",
    "sliding_window",
    "staffing",
    "state_spans",
]
