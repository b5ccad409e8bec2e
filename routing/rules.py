"""Routing rules: what admins write, validated before a single call sees them.

Pydantic models, so an invalid edit is refused with the field and the reason
(``queues.1.steps.0.min_proficiency: steps may only relax...``) instead of being
discovered by a caller. The same document is stored in the database (one row per
version), shipped as an example in ``config/routing.toml`` and read by the router.

Bullseye steps are cumulative on purpose: each one only says what it adds or
relaxes, so a step can never narrow what an earlier one admitted, and a caller
who waited longer is never worse off than one who just arrived.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

Proficiency = Annotated[int, Field(ge=1, le=5)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class Location(StrEnum):
    """Where an agent works. Same values as ``agents.Location`` (routing imports
    nothing of ours, so the names are repeated rather than shared)."""

    ON_SITE = "on_site"
    REMOTE_SITE = "remote_site"
    HOME = "home"
    PARTNER = "partner"


class Strategy(StrEnum):
    """How a queue picks among the agents eligible for a call."""

    LONGEST_IDLE = "longest_idle"
    LEAST_OCCUPIED = "least_occupied"
    HIGHEST_PROFICIENCY = "highest_proficiency"
    ROUND_ROBIN = "round_robin"
    LOWEST_COST = "lowest_cost"


_TARGET = re.compile(r"^(voicemail|callback|hangup|queue:[A-Za-z0-9][A-Za-z0-9_-]{0,63})$")


class Target(BaseModel):
    """Where a call goes when it leaves a queue unserved: ``queue:<name>``,
    ``voicemail``, ``callback`` or ``hangup`` (a closed message, then hang up)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["queue", "voicemail", "callback", "hangup"]
    queue: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            if not _TARGET.match(value):
                raise ValueError(
                    "must be voicemail, callback, hangup or queue:<name>, not " + repr(value)
                )
            kind, _, queue = value.partition(":")
            return {"kind": kind, "queue": queue or None}
        return value

    def __str__(self) -> str:
        return f"queue:{self.queue}" if self.kind == "queue" else self.kind


class BullseyeStep(BaseModel):
    """After ``after_s`` seconds in the queue, widen who may take the call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    after_s: Seconds
    #: lower every required skill's minimum to this (never raise it)
    min_proficiency: Proficiency | None = None
    #: also accept agents who have these skills instead (skill -> minimum)
    also_skills: dict[Name, Proficiency] = Field(default_factory=dict)
    #: admit agents at these further locations
    add_locations: list[Location] = Field(default_factory=list)
    label: str = Field(default="", max_length=80)


_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Hours(BaseModel):
    """Opening hours in the queue's own time zone, and the days it is closed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"
    #: weekday -> spans such as "09:00-17:30"; a day left out is closed
    weekly: dict[Weekday, list[str]] = Field(default_factory=dict)
    #: public holidays of this country (ISO code, `holidays` package) are closed
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    #: further closed dates (company holidays)
    closed_dates: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekly")
    @classmethod
    def _spans(cls, value: dict[Weekday, list[str]]) -> dict[Weekday, list[str]]:
        for day, spans in value.items():
            for span in spans:
                opens, closes = parse_span(span)
                if closes <= opens and not (closes == time(0, 0) and span.endswith("24:00")):
                    raise ValueError(f"{day}: {span!r} closes before it opens")
        return value

    @model_validator(mode="after")
    def _known_country(self) -> Self:
        if self.holidays_country is not None:
            try:
                holidays.country_holidays(
                    self.holidays_country, subdiv=self.holidays_subdivision, years=2000
                )
            except NotImplementedError as exc:
                raise ValueError(
                    f"no holiday calendar for {self.holidays_country!r}"
                    f" / {self.holidays_subdivision!r}"
                ) from exc
        return self


def parse_span(span: str) -> tuple[time, time]:
    """'09:00-17:30' -> (09:00, 17:30); '24:00' is midnight at the day's end."""
    match = _SPAN.match(span)
    if match is None:
        raise ValueError(f"{span!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 != 0:
        raise ValueError(f"{span!r}: 24:00 is the latest closing time")
    return time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)


class PartnerOverflow(BaseModel):
    """When partner agents (paid by the call, usually) may take this queue's calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: the queue has at least this many callers waiting...
    min_waiting: int | None = Field(default=None, ge=1)
    #: ...or this call has waited this long
    after_s: Seconds | None = None

    @model_validator(mode="after")
    def _some_trigger(self) -> Self:
        if self.min_waiting is None and self.after_s is None:
            raise ValueError("give min_waiting, after_s or both")
        return self


class KnownAgent(BaseModel):
    """A returning customer goes back to the agent who served them last."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: only if that was at most this many days ago
    within_days: int = Field(default=30, ge=1, le=3650)
    #: and only if that agent becomes free within this long
    wait_s: Seconds = 20.0


class Recording(BaseModel):
    """Whether a queue's calls are recorded, and for how long they are kept.

    Read by the service, not by the router (it never changes who gets a call);
    it lives here so it is versioned, validated and published with the rest of
    a queue's rules. ``sample`` records ``percent`` of the calls, chosen by the
    call id so a restart or a replay chooses the same calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["all", "none", "sample"] = "all"
    percent: float = Field(default=100.0, ge=0, le=100)
    #: recordings older than this are deleted by the retention job; None: kept
    retention_days: int | None = Field(default=90, ge=1, le=36_500)
    #: mute the recording while the caller is on hold (and resume with them)
    pause_on_hold: bool = False


class QueueRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    #: every one of these skills, at least at this proficiency
    skills: dict[Name, Proficiency] = Field(min_length=1)
    strategy: Strategy = Strategy.LONGEST_IDLE
    #: added to every caller's priority in this queue (a VIP line, say)
    priority: int = Field(default=0, ge=-10_000, le=10_000)
    ring_timeout_s: Seconds = 15.0
    wrap_up_s: float = Field(default=0.0, ge=0, le=3600)
    #: after this long in the queue the call goes to ``overflow``
    max_wait_s: Seconds | None = None
    overflow: Target | None = None
    #: answered within this many seconds counts toward the service level
    service_level_s: Seconds = 20.0
    #: the share of calls to answer within ``service_level_s`` (80/20 is the
    #: classic target): staffing (Erlang C) counts the agents needed to meet it
    service_level_target: float = Field(default=0.8, gt=0, lt=1)
    #: None: always open
    hours: Hours | None = None
    closed_action: Target = Target(kind="voicemail")
    #: who may take a call as soon as it arrives
    locations: list[Location] = Field(
        default_factory=lambda: [Location.ON_SITE, Location.REMOTE_SITE, Location.HOME]
    )
    steps: list[BullseyeStep] = Field(default_factory=list)
    partner: PartnerOverflow | None = None
    known_agent: KnownAgent | None = None
    #: None: the queue's calls are not recorded
    recording: Recording | None = None
    #: after the agent hangs up, the caller is asked for a 1-5 score
    #: (``[callcenter-survey]``); stored on the call and its history entry (CSAT).
    #: Like ``recording``, read by the service, never by the router.
    survey: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if (self.max_wait_s is None) != (self.overflow is None):
            raise ValueError("max_wait_s and overflow go together: give both or neither")
        if self.overflow is not None and self.overflow.queue == self.name:
            raise ValueError("overflow: a queue cannot overflow into itself")
        if self.closed_action.queue == self.name:
            raise ValueError("closed_action: a closed queue cannot send calls to itself")
        if Location.PARTNER in self.locations:
            raise ValueError("locations: partner agents are admitted through `partner`")
        floor = min(self.skills.values())
        previous = 0.0
        for index, step in enumerate(self.steps):
            if step.after_s <= previous:
                raise ValueError(f"steps.{index}.after_s: steps must be in increasing time")
            if step.min_proficiency is not None and step.min_proficiency > floor:
                raise ValueError(
                    f"steps.{index}.min_proficiency: steps may only relax the minimum"
                    f" ({step.min_proficiency} > {floor})"
                )
            if step.min_proficiency is not None:
                floor = step.min_proficiency
            if Location.PARTNER in step.add_locations:
                raise ValueError(
                    f"steps.{index}.add_locations: partner agents are admitted through `partner`"
                )
            previous = step.after_s
        return self


class LocationRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    location: Location
    #: what a minute of this location's agent time costs (any currency)
    cost_per_min: float = Field(default=0.0, ge=0)
    #: lower is preferred; ties fall through to the queue's strategy
    preference: int = Field(default=0, ge=0, le=100)


class ValueBand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_value: float = Field(ge=0)
    points: int = Field(ge=0, le=100_000)


class PriorityPolicy(BaseModel):
    """A caller's priority: tier points + lifetime-value points + the queue's own
    points, plus ``aging_per_s`` for every second waited, so nobody starves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tiers: dict[str, int] = Field(
        default_factory=lambda: {"platinum": 300, "gold": 200, "silver": 100, "bronze": 0}
    )
    lifetime_value: list[ValueBand] = Field(default_factory=list)
    aging_per_s: float = Field(default=1.0, gt=0, le=1000)


def _default_locations() -> list[LocationRule]:
    return [
        LocationRule(location=Location.ON_SITE, cost_per_min=0.5, preference=0),
        LocationRule(location=Location.REMOTE_SITE, cost_per_min=0.6, preference=1),
        LocationRule(location=Location.HOME, cost_per_min=0.4, preference=2),
        LocationRule(location=Location.PARTNER, cost_per_min=1.5, preference=3),
    ]


class RoutingRules(BaseModel):
    """One published (or draft) version of the whole routing configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queues: list[QueueRule] = Field(min_length=1)
    locations: list[LocationRule] = Field(default_factory=_default_locations)
    priority: PriorityPolicy = Field(default_factory=PriorityPolicy)
    #: RONA: this many missed offers in a row send an agent to Not Ready
    rona_misses: int = Field(default=1, ge=1, le=10)

    @model_validator(mode="after")
    def _references(self) -> Self:
        names = [q.name for q in self.queues]
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                raise ValueError(f"queues.{index}.name: {name!r} is defined twice")
            seen.add(name)
        for index, queue in enumerate(self.queues):
            for field, target in (
                ("overflow", queue.overflow),
                ("closed_action", queue.closed_action),
            ):
                if target is not None and target.queue is not None and target.queue not in seen:
                    raise ValueError(f"queues.{index}.{field}: no queue named {target.queue!r}")
        _refuse_loops(self.queues, "overflow")
        _refuse_loops(self.queues, "closed_action")
        located = [rule.location for rule in self.locations]
        if len(set(located)) != len(located):
            raise ValueError("locations: a location is listed twice")
        return self

    def queue(self, name: str) -> QueueRule | None:
        for queue in self.queues:
            if queue.name == name:
                return queue
        return None


def _refuse_loops(queues: list[QueueRule], field: Literal["overflow", "closed_action"]) -> None:
    """Queue A overflowing to B overflowing to A would bounce a caller forever; A
    closed sending callers to B closed sending them to A would lose them."""
    following: dict[str, str] = {}
    for queue in queues:
        target = getattr(queue, field)
        if target is not None and target.queue is not None:
            following[queue.name] = target.queue
    for start in following:
        path = [start]
        current = following.get(start)
        while current is not None:
            if current in path:
                loop = " -> ".join([*path[path.index(current) :], current])
                raise ValueError(f"{field} targets form a loop: {loop}")
            path.append(current)
            current = following.get(current)
