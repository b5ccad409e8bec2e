"""Reports for supervisors and admins: real-time figures and staffing, history
by queue, agent, hour or day (JSON or CSV), first-contact resolution, seat
usage, and the dormant valuable customers to call back.

A supervisor assigned to some queues gets the figures of those queues only
(``Principal.sees_queue``); admins and unassigned supervisors get everything.
Every figure is defined in docs/reports.md; the numbers are computed by the
pure ``callcenter.reports`` core from the facts ``callcenter.db.reports`` reads.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response

from callcenter.db.reports import (
    agent_skills,
    dormant_customers,
    load_calls,
    load_contacts,
    load_state_changes,
)
from callcenter.db.routing_rules import load_live_rules
from callcenter.ports import Principal
from callcenter.reports import (
    CallFact,
    Period,
    agent_figures,
    concurrent_logged_in,
    daily_peaks,
    day_so_far,
    first_contact_resolution,
    historical,
    local_day,
    records_to_csv,
    rows_to_csv,
    sliding_window,
)
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import Database, SupervisorPrincipal
from callcenter.web.report_views import realtime_report, report_policy
from callcenter.web.scope import scoped_wallboard

#: the longest period one report reads (a quarter)
MAX_SPAN = timedelta(days=93)
QueueName = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
]
Instant = Annotated[datetime | None, Query()]
#: whole days in the center's time zone (what the reports page asks for)
Day = Annotated[date | None, Query()]
Format = Annotated[Literal["json", "csv"], Query()]


def reports_router() -> APIRouter:
    router = APIRouter(prefix="/api/reports", tags=["reports"])
    router.add_api_route("/realtime", realtime, methods=["GET"])
    router.add_api_route("/history", history, methods=["GET"])
    router.add_api_route("/agents", agents, methods=["GET"])
    router.add_api_route("/fcr", fcr, methods=["GET"])
    router.add_api_route("/seats", seats, methods=["GET"])
    router.add_api_route("/dormant", dormant, methods=["GET"])
    return router


async def realtime(
    principal: SupervisorPrincipal, request: Request, db: Database
) -> dict[str, Any]:
    """Waiting, longest wait, SL and SL2, ASA, AHT, abandon rate, occupancy and
    agents by state, over the sliding window and since local midnight; and the
    agents each queue needs now (Erlang C) beside those logged in."""
    context = web_context(request)
    settings = context.reports
    board = scoped_wallboard(context.desk.wallboard(), principal)
    now = datetime.fromtimestamp(board.at, UTC)
    window = sliding_window(now, settings.window_minutes)
    today = day_so_far(now, settings.timezone)
    reach = Period(min(window.start, today.start), now)
    calls = await load_calls(db, reach, queues=_queues_seen(principal))
    agent_ids = {agent.agent_id for agent in board.agents}
    changes = await load_state_changes(db, reach, agent_ids=agent_ids)
    return realtime_report(
        board=board,
        calls=calls,
        changes=changes,
        window=window,
        today=today,
        settings=settings,
        eligible_agents=await _eligible_agents(db),
    )


async def history(
    principal: SupervisorPrincipal,
    request: Request,
    db: Database,
    group_by: Annotated[Literal["queue", "agent", "hour", "day"], Query()] = "day",
    since: Instant = None,
    until: Instant = None,
    from_day: Day = None,
    to_day: Day = None,
    queue: QueueName = None,
    format: Format = "json",
) -> Any:
    """The figures of a past period, a row per queue, agent, local hour or
    local day (hours and days without traffic are rows of zeros)."""
    context = web_context(request)
    settings = context.reports
    period = _period(since, until, from_day, to_day, settings.timezone)
    queues = _queues_asked(principal, queue)
    calls = await load_calls(db, period, queues=queues)
    policy = report_policy(context.desk.wallboard(), settings)
    rows = historical(calls, period, policy, group_by=group_by, tz=settings.timezone)
    if format == "csv":
        return _csv(rows_to_csv(rows), f"calls-by-{group_by}")
    return {
        "period": _period_json(period),
        "group_by": group_by,
        "timezone": settings.timezone,
        "rows": [{"key": row.key, **row.figures.as_json()} for row in rows],
    }


async def agents(
    principal: SupervisorPrincipal,
    request: Request,
    db: Database,
    since: Instant = None,
    until: Instant = None,
    from_day: Day = None,
    to_day: Day = None,
    queue: QueueName = None,
    format: Format = "json",
) -> Any:
    """Per agent: calls handled, talk, hold and wrap-up, AHT, logged-in, ready
    and not-ready time, occupancy, CSAT."""
    settings = web_context(request).reports
    period = _period(since, until, from_day, to_day, settings.timezone)
    calls = await load_calls(db, period, queues=_queues_asked(principal, queue))
    scoped = _queues_asked(principal, queue) is not None
    agent_ids = _agents_of(calls) if scoped else None
    changes = await load_state_changes(db, period, agent_ids=agent_ids)
    figures = sorted(agent_figures(calls, changes, period).values(), key=lambda f: f.agent_id)
    if agent_ids is not None:
        figures = [f for f in figures if f.agent_id in agent_ids]
    if format == "csv":
        records = [[getattr(f, column) for column in AGENT_COLUMNS] for f in figures]
        return _csv(records_to_csv(AGENT_COLUMNS, records), "agents")
    return {"period": _period_json(period), "agents": [f.as_json() for f in figures]}


async def fcr(
    principal: SupervisorPrincipal,
    request: Request,
    db: Database,
    since: Instant = None,
    until: Instant = None,
    from_day: Day = None,
    to_day: Day = None,
    queue: QueueName = None,
    days: Annotated[int | None, Query(ge=1, le=90)] = None,
) -> dict[str, Any]:
    """First-contact resolution: the share of contacts not followed by another
    from the same customer, on any channel, within ``days`` days."""
    settings = web_context(request).reports
    period = _period(since, until, from_day, to_day, settings.timezone)
    window_days = days or settings.fcr_days
    as_of = datetime.now(UTC)
    contacts = await load_contacts(
        db,
        period.start,
        min(as_of, period.end + timedelta(days=window_days)),
        queues=_queues_asked(principal, queue),
    )
    report = first_contact_resolution(contacts, period, days=window_days, as_of=as_of)
    seen = _queues_asked(principal, queue)
    return {
        "period": _period_json(period),
        "days": window_days,
        "overall": report.overall.as_json(),
        "by_queue": {
            name: figures.as_json()
            for name, figures in sorted(report.by_queue.items())
            if seen is None or name in seen
        },
        "by_agent": {str(agent): f.as_json() for agent, f in sorted(report.by_agent.items())},
    }


async def seats(
    principal: SupervisorPrincipal,
    request: Request,
    db: Database,
    since: Instant = None,
    until: Instant = None,
    from_day: Day = None,
    to_day: Day = None,
    step_s: Annotated[float, Query(ge=60, le=86_400)] = 900,
) -> dict[str, Any]:
    """Concurrent logged-in agents over time and the peak of each local day."""
    settings = web_context(request).reports
    period = _period(since, until, from_day, to_day, settings.timezone)
    changes = await load_state_changes(db, period)
    return {
        "period": _period_json(period),
        "timezone": settings.timezone,
        "daily_peaks": [
            {"day": p.day.isoformat(), "peak": p.peak, "at": p.at.isoformat() if p.at else None}
            for p in daily_peaks(changes, period, settings.timezone)
        ],
        "samples": [
            {"at": at.isoformat(), "logged_in": count}
            for at, count in concurrent_logged_in(changes, period, step_s)
        ],
    }


async def dormant(
    principal: SupervisorPrincipal,
    request: Request,
    db: Database,
    days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    min_lifetime_value: Annotated[Decimal | None, Query(ge=0, le=10**9)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    format: Format = "json",
) -> Any:
    """High-value customers with no contact on any channel for ``days`` days,
    the most valuable first. Customer data: every read is audited."""
    settings = web_context(request).reports
    quiet_days = days or settings.dormant_days
    floor = (
        settings.dormant_min_lifetime_value if min_lifetime_value is None else min_lifetime_value
    )
    customers = await dormant_customers(
        db, now=datetime.now(UTC), days=quiet_days, min_lifetime_value=floor, limit=limit
    )
    await audit(
        request,
        "report.dormant_customers",
        f"{len(customers)} customers",
        principal=principal,
        days=quiet_days,
        min_lifetime_value=str(floor),
        format=format,
    )
    if format == "csv":
        rows = [c.as_json() for c in customers]
        records = [[row[column] for column in DORMANT_COLUMNS] for row in rows]
        return _csv(records_to_csv(DORMANT_COLUMNS, records), "dormant")
    return {
        "days": quiet_days,
        "min_lifetime_value": str(floor),
        "customers": [c.as_json() for c in customers],
    }


#: the agents' CSV: one scalar per column (the per-state breakdown is in the JSON)
AGENT_COLUMNS = (
    "agent_id",
    "handled",
    "talk_s",
    "hold_s",
    "wrap_up_s",
    "aht_s",
    "logged_in_s",
    "ready_s",
    "not_ready_s",
    "busy_s",
    "occupancy",
    "csat_avg",
    "csat_responses",
)
DORMANT_COLUMNS = (
    "customer_id",
    "name",
    "account_number",
    "tier",
    "lifetime_value",
    "last_contact_at",
    "phone",
)


def _period(
    since: datetime | None,
    until: datetime | None,
    from_day: date | None,
    to_day: date | None,
    tz: str,
) -> Period:
    """[since, until), or the local days from ``from_day`` to ``to_day``
    included; by default the last seven local days up to now."""
    for name, instant in (("since", since), ("until", until)):
        if instant is not None and instant.tzinfo is None:
            _refuse(name, "give a time zone (e.g. 2026-12-01T00:00:00Z)")
    if from_day is not None and since is not None:
        _refuse("from_day", "give since or from_day, not both")
    if to_day is not None and until is not None:
        _refuse("to_day", "give until or to_day, not both")
    now = datetime.now(UTC)
    end = until or (local_day(to_day, tz).end if to_day is not None else now)
    if since is not None:
        start = since
    elif from_day is not None:
        start = local_day(from_day, tz).start
    else:
        start = local_day(end.astimezone(_zone(tz)).date() - timedelta(days=6), tz).start
    if start >= end:
        _refuse("since" if since is not None else "from_day", "must be before the end")
    if end - start > MAX_SPAN:
        _refuse(
            "since" if since is not None else "from_day",
            f"a report covers at most {MAX_SPAN.days} days",
        )
    return Period(start.astimezone(UTC), end.astimezone(UTC))


def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def _refuse(field: str, reason: str) -> None:
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [{"field": field, "reason": reason}])


def _queues_seen(principal: Principal) -> Collection[str] | None:
    return None if principal.sees_queue(None) else (principal.queues or frozenset())


def _queues_asked(principal: Principal, queue: str | None) -> Collection[str] | None:
    if queue is None:
        return _queues_seen(principal)
    if not principal.sees_queue(queue):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not one of your queues")
    return {queue}


def _agents_of(calls: Sequence[CallFact]) -> set[int]:
    """The agents who had a part in these calls."""
    agents: set[int] = set()
    for call in calls:
        if call.agent_id is not None:
            agents.add(call.agent_id)
        agents.update(leg.agent_id for leg in call.legs if leg.agent_id is not None)
    return agents


async def _eligible_agents(db: Database) -> dict[str, set[int]]:
    """Per queue of the live rules, the agents skilled enough for its calls."""
    rules = await load_live_rules(db)
    if rules is None:
        return {}
    skills = await agent_skills(db)
    return {
        queue.name: {
            agent_id
            for agent_id, levels in skills.items()
            if all(levels.get(skill, 0) >= level for skill, level in queue.skills.items())
        }
        for queue in rules.queues
    }


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
