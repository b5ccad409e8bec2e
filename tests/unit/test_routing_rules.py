"""Routing rules: an invalid edit is refused with the field and the reason, before
a single caller sees it; a valid document (as TOML or the database gives it) loads."""

from __future__ import annotations

import copy
import tomllib
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from routing import (
    AgentFacts,
    Location,
    Offer,
    Overflow,
    Router,
    RoutingRules,
    Strategy,
    Target,
    WaitingCall,
)

Doc = dict[str, Any]

BASE: Doc = {
    "queues": [
        {"name": "sales", "skills": {"sales": 3}},
        {"name": "billing", "skills": {"billing": 2}},
        {"name": "support", "skills": {"support": 4, "english": 2}},
    ]
}


def edited(**changes: Any) -> Doc:
    """BASE with the first queue's fields replaced (a top-level key starting with
    ``rules_`` replaces that field of the whole document instead)."""
    doc = copy.deepcopy(BASE)
    for field, value in changes.items():
        if field.startswith("rules_"):
            doc[field.removeprefix("rules_")] = value
        else:
            doc["queues"][0][field] = value
    return doc


def refusal(doc: Doc) -> str:
    with pytest.raises(ValidationError) as caught:
        RoutingRules.model_validate(doc)
    return str(caught.value)


def test_base_document_is_valid() -> None:
    rules = RoutingRules.model_validate(BASE)
    assert [q.name for q in rules.queues] == ["sales", "billing", "support"]


def test_queue_defined_twice_is_refused_naming_the_second() -> None:
    doc = copy.deepcopy(BASE)
    doc["queues"].append({"name": "billing", "skills": {"billing": 1}})
    message = refusal(doc)
    assert "queues.3.name" in message
    assert "'billing' is defined twice" in message


def test_overflow_to_unknown_queue_is_refused() -> None:
    message = refusal(edited(max_wait_s=60, overflow="queue:nowhere"))
    assert "queues.0.overflow" in message
    assert "no queue named 'nowhere'" in message


def test_closed_action_to_unknown_queue_is_refused() -> None:
    message = refusal(edited(closed_action="queue:nowhere"))
    assert "queues.0.closed_action" in message
    assert "no queue named 'nowhere'" in message


def test_overflow_loop_between_two_queues_is_refused() -> None:
    doc = copy.deepcopy(BASE)
    doc["queues"][0].update(max_wait_s=60, overflow="queue:billing")
    doc["queues"][1].update(max_wait_s=60, overflow="queue:sales")
    message = refusal(doc)
    assert "overflow targets form a loop" in message
    assert "sales -> billing -> sales" in message


def test_overflow_loop_through_three_queues_is_refused() -> None:
    doc = copy.deepcopy(BASE)
    doc["queues"][0].update(max_wait_s=60, overflow="queue:billing")
    doc["queues"][1].update(max_wait_s=60, overflow="queue:support")
    doc["queues"][2].update(max_wait_s=60, overflow="queue:sales")
    assert "sales -> billing -> support -> sales" in refusal(doc)


def test_overflow_chain_without_loop_is_accepted() -> None:
    doc = copy.deepcopy(BASE)
    doc["queues"][0].update(max_wait_s=60, overflow="queue:billing")
    doc["queues"][1].update(max_wait_s=60, overflow="queue:support")
    doc["queues"][2].update(max_wait_s=60, overflow="voicemail")
    rules = RoutingRules.model_validate(doc)
    assert [str(q.overflow) for q in rules.queues] == [
        "queue:billing",
        "queue:support",
        "voicemail",
    ]


def test_queue_overflowing_into_itself_is_refused() -> None:
    message = refusal(edited(max_wait_s=60, overflow="queue:sales"))
    assert "queues.0" in message
    assert "overflow: a queue cannot overflow into itself" in message


def test_closed_queue_sending_calls_to_itself_is_refused() -> None:
    message = refusal(edited(closed_action="queue:sales"))
    assert "closed_action: a closed queue cannot send calls to itself" in message


def test_closed_action_loop_is_refused() -> None:
    """Both queues closed (a public holiday) would send a caller round in a circle
    and lose them: the edit is refused instead."""
    doc = copy.deepcopy(BASE)
    doc["queues"][0]["closed_action"] = "queue:billing"
    doc["queues"][1]["closed_action"] = "queue:sales"
    message = refusal(doc)
    assert "closed_action targets form a loop" in message
    assert "sales -> billing -> sales" in message


def test_steps_out_of_order_are_refused() -> None:
    message = refusal(edited(steps=[{"after_s": 60, "min_proficiency": 2}, {"after_s": 30}]))
    assert "queues.0" in message
    assert "steps.1.after_s: steps must be in increasing time" in message


def test_two_steps_at_the_same_time_are_refused() -> None:
    message = refusal(edited(steps=[{"after_s": 30}, {"after_s": 30, "add_locations": ["home"]}]))
    assert "steps.1.after_s: steps must be in increasing time" in message


def test_step_raising_the_minimum_proficiency_is_refused() -> None:
    message = refusal(edited(steps=[{"after_s": 30, "min_proficiency": 4}]))
    assert "steps.0.min_proficiency: steps may only relax the minimum (4 > 3)" in message


def test_later_step_cannot_raise_what_an_earlier_step_relaxed() -> None:
    message = refusal(
        edited(steps=[{"after_s": 30, "min_proficiency": 1}, {"after_s": 60, "min_proficiency": 2}])
    )
    assert "steps.1.min_proficiency: steps may only relax the minimum (2 > 1)" in message


def test_step_keeping_the_same_minimum_is_accepted() -> None:
    rules = RoutingRules.model_validate(
        edited(steps=[{"after_s": 30, "min_proficiency": 3}, {"after_s": 60, "min_proficiency": 1}])
    )
    assert [s.min_proficiency for s in rules.queues[0].steps] == [3, 1]


def test_max_wait_without_overflow_is_refused() -> None:
    message = refusal(edited(max_wait_s=60))
    assert "max_wait_s and overflow go together" in message


def test_overflow_without_max_wait_is_refused() -> None:
    assert "max_wait_s and overflow go together" in refusal(edited(overflow="voicemail"))


@pytest.mark.parametrize("text", ["elsewhere", "queue:", "queue:-x", "Voicemail", ""])
def test_unreadable_overflow_target_is_refused(text: str) -> None:
    message = refusal(edited(max_wait_s=60, overflow=text))
    assert "queues.0.overflow" in message
    assert "must be voicemail, callback, hangup or queue:<name>" in message


def test_unknown_time_zone_is_refused() -> None:
    message = refusal(edited(hours={"timezone": "Europe/Atlantis"}))
    assert "queues.0.hours.timezone" in message
    assert "unknown time zone 'Europe/Atlantis'" in message


@pytest.mark.parametrize("span", ["25:00-26:00", "9:00-17:00", "09:00 - 17:00", "09:60-17:00"])
def test_unreadable_opening_span_is_refused(span: str) -> None:
    message = refusal(edited(hours={"weekly": {"mon": [span]}}))
    assert "queues.0.hours.weekly" in message
    assert f"{span!r} is not HH:MM-HH:MM" in message


def test_span_closing_before_it_opens_is_refused() -> None:
    message = refusal(edited(hours={"weekly": {"tue": ["17:00-09:00"]}}))
    assert "queues.0.hours.weekly" in message
    assert "tue: '17:00-09:00' closes before it opens" in message


def test_closing_after_midnight_is_refused() -> None:
    message = refusal(edited(hours={"weekly": {"fri": ["20:00-24:30"]}}))
    assert "24:00 is the latest closing time" in message


def test_closing_at_24_00_is_accepted() -> None:
    rules = RoutingRules.model_validate(edited(hours={"weekly": {"fri": ["20:00-24:00"]}}))
    hours = rules.queues[0].hours
    assert hours is not None
    assert hours.weekly == {"fri": ["20:00-24:00"]}


def test_unknown_weekday_is_refused() -> None:
    message = refusal(edited(hours={"weekly": {"monday": ["09:00-17:00"]}}))
    assert "queues.0.hours.weekly.monday" in message


def test_unknown_holidays_country_is_refused() -> None:
    message = refusal(edited(hours={"holidays_country": "XX"}))
    assert "queues.0.hours" in message
    assert "no holiday calendar for 'XX'" in message


def test_unknown_holidays_subdivision_is_refused() -> None:
    message = refusal(edited(hours={"holidays_country": "DE", "holidays_subdivision": "ZZ"}))
    assert "no holiday calendar for 'DE' / 'ZZ'" in message


def test_partner_among_a_queues_locations_is_refused() -> None:
    message = refusal(edited(locations=["on_site", "partner"]))
    assert "queues.0" in message
    assert "locations: partner agents are admitted through `partner`" in message


def test_partner_added_by_a_step_is_refused() -> None:
    message = refusal(edited(steps=[{"after_s": 30, "add_locations": ["home", "partner"]}]))
    assert "steps.0.add_locations: partner agents are admitted through `partner`" in message


def test_partner_overflow_without_a_trigger_is_refused() -> None:
    message = refusal(edited(partner={}))
    assert "queues.0.partner" in message
    assert "give min_waiting, after_s or both" in message


@pytest.mark.parametrize("level", [0, 6])
def test_proficiency_outside_one_to_five_is_refused(level: int) -> None:
    message = refusal(edited(skills={"sales": level}))
    assert "queues.0.skills.sales" in message


def test_queue_without_skills_is_refused() -> None:
    assert "queues.0.skills" in refusal(edited(skills={}))


def test_location_listed_twice_is_refused() -> None:
    message = refusal(edited(rules_locations=[{"location": "home"}, {"location": "home"}]))
    assert "locations: a location is listed twice" in message


def test_misspelt_field_is_refused_rather_than_ignored() -> None:
    message = refusal(edited(max_wait=60))
    assert "queues.0.max_wait" in message
    assert "Extra inputs are not permitted" in message


def test_rules_without_queues_are_refused() -> None:
    assert "queues" in refusal({"queues": []})


EXAMPLE_TOML = """
rona_misses = 2

[priority]
aging_per_s = 0.5
lifetime_value = [
    { min_value = 1000, points = 50 },
    { min_value = 10000, points = 150 },
]

[priority.tiers]
gold = 200
bronze = 0

[[locations]]
location = "on_site"
cost_per_min = 0.5
preference = 0

[[locations]]
location = "partner"
cost_per_min = 1.5
preference = 3

[[queues]]
name = "sales"
skills = { sales = 3, english = 2 }
strategy = "highest_proficiency"
priority = 50
max_wait_s = 120
overflow = "queue:billing"
closed_action = "callback"
locations = ["on_site", "home"]
partner = { min_waiting = 5, after_s = 90 }
known_agent = { within_days = 14, wait_s = 15 }

[queues.hours]
timezone = "Europe/Berlin"
holidays_country = "DE"
closed_dates = [2025-12-24, 2025-12-31]

[queues.hours.weekly]
mon = ["09:00-12:00", "13:00-17:00"]
sat = ["10:00-24:00"]

[[queues.steps]]
after_s = 30
min_proficiency = 2
label = "any sales agent"

[[queues.steps]]
after_s = 60
also_skills = { billing = 3 }
add_locations = ["remote_site"]

[[queues]]
name = "billing"
skills = { billing = 2 }
strategy = "round_robin"
max_wait_s = 300
overflow = "voicemail"
"""


def test_toml_document_loads_with_every_field() -> None:
    rules = RoutingRules.model_validate(tomllib.loads(EXAMPLE_TOML))
    assert rules.rona_misses == 2
    assert rules.priority.aging_per_s == 0.5
    assert rules.priority.tiers == {"gold": 200, "bronze": 0}
    assert [(b.min_value, b.points) for b in rules.priority.lifetime_value] == [
        (1000, 50),
        (10000, 150),
    ]
    assert [r.location for r in rules.locations] == [Location.ON_SITE, Location.PARTNER]
    sales = rules.queue("sales")
    billing = rules.queue("billing")
    assert sales is not None and billing is not None
    assert sales.skills == {"sales": 3, "english": 2}
    assert sales.strategy is Strategy.HIGHEST_PROFICIENCY
    assert sales.overflow == Target(kind="queue", queue="billing")
    assert str(sales.overflow) == "queue:billing"
    assert sales.closed_action == Target(kind="callback")
    assert sales.locations == [Location.ON_SITE, Location.HOME]
    assert sales.partner is not None
    assert (sales.partner.min_waiting, sales.partner.after_s) == (5, 90)
    assert sales.known_agent is not None
    assert (sales.known_agent.within_days, sales.known_agent.wait_s) == (14, 15)
    assert sales.hours is not None
    assert sales.hours.timezone == "Europe/Berlin"
    assert sales.hours.closed_dates == [date(2025, 12, 24), date(2025, 12, 31)]
    assert sales.hours.weekly["mon"] == ["09:00-12:00", "13:00-17:00"]
    assert [s.after_s for s in sales.steps] == [30, 60]
    assert sales.steps[0].label == "any sales agent"
    assert sales.steps[1].also_skills == {"billing": 3}
    assert sales.steps[1].add_locations == [Location.REMOTE_SITE]
    assert billing.strategy is Strategy.ROUND_ROBIN
    assert billing.overflow == Target(kind="voicemail")
    assert billing.closed_action == Target(kind="voicemail")  # the default


def test_rules_stored_as_json_come_back_equal() -> None:
    rules = RoutingRules.model_validate(tomllib.loads(EXAMPLE_TOML))
    stored = rules.model_dump(mode="json")
    assert RoutingRules.model_validate(stored) == rules


def test_overflow_written_as_text_sends_the_caller_to_that_queue() -> None:
    rules = RoutingRules.model_validate(
        {
            "queues": [
                {
                    "name": "sales",
                    "skills": {"sales": 3},
                    "max_wait_s": 60,
                    "overflow": "queue:billing",
                },
                {"name": "billing", "skills": {"billing": 2}},
            ]
        }
    )
    router = Router(rules)
    router.call_arrived(WaitingCall("c1", "sales", 0.0), now=0.0)
    router.agent_available(AgentFacts(7, {"billing": 2}), now=10.0)
    decisions = router.tick(60.0).decisions
    assert [type(d) for d in decisions] == [Overflow, Offer]
    overflow, offer = decisions
    assert isinstance(overflow, Overflow) and isinstance(offer, Offer)
    assert overflow.target == Target(kind="queue", queue="billing")
    assert (offer.call_id, offer.agent_id, offer.queue) == ("c1", 7, "billing")


@pytest.mark.parametrize(
    ("text", "kind", "queue"),
    [
        ("voicemail", "voicemail", None),
        ("callback", "callback", None),
        ("hangup", "hangup", None),
        ("queue:billing", "queue", "billing"),
    ],
)
def test_target_text_reads_and_prints_back(text: str, kind: str, queue: str | None) -> None:
    target = Target.model_validate(text)
    assert (target.kind, target.queue) == (kind, queue)
    assert str(target) == text
