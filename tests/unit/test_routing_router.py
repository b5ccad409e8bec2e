"""The router's rules as a caller, an agent or a supervisor would notice them:
priority and aging, bullseye steps and wake-ups, partner agents, the known agent,
overflow, failed offers, rules replaced while callers wait, and explanations."""

from __future__ import annotations

from typing import Any

import pytest

from routing import (
    AgentFacts,
    Closed,
    Decision,
    Offer,
    Overflow,
    QueueRule,
    Round,
    Router,
    RoutingRules,
    RulesRefused,
    Target,
    UnknownQueue,
    WaitingCall,
)

DAY = 86_400.0


def queue(name: str = "sales", **fields: Any) -> QueueRule:
    return QueueRule.model_validate({"name": name, "skills": {name: 3}, **fields})


def make(*queues: QueueRule, **rules: Any) -> Router:
    return Router(RoutingRules.model_validate({"queues": queues or [queue()], **rules}))


def agent(
    agent_id: int,
    level: int = 3,
    skill: str = "sales",
    location: str = "on_site",
    idle_since: float = 0.0,
) -> AgentFacts:
    return AgentFacts(agent_id, {skill: level}, location=location, idle_since=idle_since)


def call(call_id: str, at: float, queue: str = "sales", **fields: Any) -> WaitingCall:
    return WaitingCall(call_id, queue, at, **fields)


def pairs(decisions: Round | tuple[Decision, ...]) -> list[tuple[str, int]]:
    if isinstance(decisions, Round):
        decisions = decisions.decisions
    return [(d.call_id, d.agent_id) for d in decisions if isinstance(d, Offer)]


def only_offer(round_: Round) -> Offer:
    offers = round_.offers
    assert len(offers) == 1, round_
    return offers[0]


def settled(router: Router, round_: Round, now: float) -> list[Decision]:
    """The round's decisions, plus what a wake-up it asked for at ``now`` brings."""
    decisions = list(round_.decisions)
    if round_.wake_at is not None and round_.wake_at <= now:
        decisions.extend(router.tick(now).decisions)
    return decisions


# -- priority ---------------------------------------------------------------


def test_gold_caller_is_served_before_an_earlier_bronze_caller() -> None:
    router = make()
    router.call_arrived(call("bronze", 0.0, tier="bronze"), now=0.0)
    router.call_arrived(call("gold", 10.0, tier="gold"), now=10.0)
    assert pairs(router.agent_available(agent(1), now=20.0)) == [("gold", 1)]
    assert pairs(router.agent_available(agent(2), now=21.0)) == [("bronze", 2)]


def test_tiers_come_from_the_configured_mapping() -> None:
    router = make(priority={"tiers": {"student": 500, "gold": 0}})
    router.call_arrived(call("gold", 0.0, tier="gold"), now=0.0)
    router.call_arrived(call("student", 10.0, tier="student"), now=10.0)
    assert pairs(router.agent_available(agent(1), now=20.0)) == [("student", 1)]


def test_unknown_tier_counts_as_no_tier() -> None:
    router = make()
    router.call_arrived(call("none", 0.0), now=0.0)
    router.call_arrived(call("diamond", 5.0, tier="diamond"), now=5.0)
    offer = only_offer(router.agent_available(agent(1), now=10.0))
    assert offer.call_id == "none"
    router.agent_available(agent(2), now=11.0)
    assert router.waiting == {}


def test_highest_lifetime_value_band_reached_gives_the_points() -> None:
    bands = [{"min_value": 1000, "points": 50}, {"min_value": 10_000, "points": 150}]
    router = make(priority={"lifetime_value": bands})
    # 5000 reaches the 50-point band and has waited 60 s more: 110 < 150
    router.call_arrived(call("mid", 0.0, lifetime_value=5000.0), now=0.0)
    router.call_arrived(call("top", 60.0, lifetime_value=20_000.0), now=60.0)
    router.call_arrived(call("low", 0.0, lifetime_value=999.0), now=0.0)
    offers = [only_offer(router.agent_available(agent(n), now=60.0)) for n in (1, 2, 3)]
    assert [o.call_id for o in offers] == ["top", "mid", "low"]
    breakdown = offers[0].explanation.priority
    assert breakdown is not None
    assert (breakdown.value_points, breakdown.aging_points) == (150, 0.0)


def test_vip_queue_points_put_its_callers_first() -> None:
    router = make(queue("sales"), queue("vip", skills={"sales": 3}, priority=500))
    router.call_arrived(call("plain", 0.0), now=0.0)
    router.call_arrived(call("vip", 100.0, queue="vip"), now=100.0)
    offer = only_offer(router.agent_available(agent(1), now=101.0))
    assert (offer.call_id, offer.queue) == ("vip", "vip")
    breakdown = offer.explanation.priority
    assert breakdown is not None
    assert breakdown.queue_points == 500


def test_equal_priority_goes_by_arrival_then_call_id() -> None:
    router = make()
    router.call_arrived(call("b", 5.0), now=5.0)
    router.call_arrived(call("c", 3.0), now=5.0)
    router.call_arrived(call("a", 5.0), now=5.0)
    served = [only_offer(router.agent_available(agent(n), now=9.0)).call_id for n in (1, 2, 3)]
    assert served == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("gold_arrives", "first"),
    [(99.5, "gold"), (100.0, "bronze"), (130.0, "bronze")],
)
def test_bronze_caller_overtakes_gold_after_the_tier_gap_in_waiting(
    gold_arrives: float, first: str
) -> None:
    """gold 200, bronze 0, 2 points a second: a bronze caller who has waited
    (200 - 0) / 2 = 100 s longer is level, and the earlier arrival goes first."""
    router = make(priority={"aging_per_s": 2.0})
    router.call_arrived(call("bronze", 0.0, tier="bronze"), now=0.0)
    router.call_arrived(call("gold", gold_arrives, tier="gold"), now=gold_arrives)
    offer = only_offer(router.agent_available(agent(1), now=150.0))
    assert offer.call_id == first


def test_priority_breakdown_shows_each_term_at_decision_time() -> None:
    router = make(
        queue(priority=25),
        priority={"aging_per_s": 0.5, "lifetime_value": [{"min_value": 100, "points": 40}]},
    )
    router.call_arrived(call("c1", 10.0, tier="silver", lifetime_value=150.0), now=10.0)
    offer = only_offer(router.agent_available(agent(1), now=70.0))
    breakdown = offer.explanation.priority
    assert breakdown is not None
    assert (breakdown.tier, breakdown.tier_points, breakdown.value_points) == ("silver", 100, 40)
    assert (breakdown.queue_points, breakdown.aging_points) == (25, 30.0)
    assert breakdown.total == 195.0
    assert breakdown.describe() == "priority 195 (silver 100 + value 40 + queue 25 + waited 30)"


# -- bullseye steps ----------------------------------------------------------


def test_relaxed_proficiency_step_admits_a_less_skilled_agent_on_time() -> None:
    router = make(queue(skills={"sales": 4}, steps=[{"after_s": 30, "min_proficiency": 2}]))
    assert router.agent_available(agent(1, level=2), now=0.0).decisions == ()
    arrived = router.call_arrived(call("c1", 0.0), now=0.0)
    assert arrived.decisions == ()
    assert arrived.wake_at == 30.0
    early = router.tick(29.9)
    assert (early.decisions, early.wake_at) == ((), 30.0)
    on_time = router.tick(30.0)
    offer = only_offer(on_time)
    assert (offer.call_id, offer.agent_id) == ("c1", 1)
    assert offer.explanation.trigger == "step reached"
    assert offer.explanation.step == "after 30 s: proficiency >= 2"
    assert on_time.wake_at is None


def test_agent_below_the_relaxed_minimum_is_still_refused() -> None:
    router = make(queue(skills={"sales": 4}, steps=[{"after_s": 30, "min_proficiency": 2}]))
    router.agent_available(agent(1, level=1), now=0.0)
    router.call_arrived(call("c1", 0.0), now=0.0)
    assert router.tick(500.0).decisions == ()
    assert "c1" in router.waiting


def test_also_skills_step_admits_agents_with_the_other_skill() -> None:
    steps = [{"after_s": 20, "also_skills": {"billing": 3}}]
    router = make(queue(steps=steps))
    router.agent_available(agent(1, level=2, skill="billing"), now=0.0)
    router.agent_available(agent(2, level=3, skill="billing"), now=0.0)
    assert router.call_arrived(call("c1", 0.0), now=0.0).wake_at == 20.0
    offer = only_offer(router.tick(20.0))
    assert offer.agent_id == 2
    assert offer.explanation.step == "after 20 s: or billing >= 3"


def test_add_locations_step_admits_home_agents_later() -> None:
    steps = [{"after_s": 45, "add_locations": ["home"]}]
    router = make(queue(locations=["on_site"], steps=steps))
    router.agent_available(agent(1, location="home"), now=0.0)
    assert router.agent_available(agent(2, location="remote_site"), now=0.0).decisions == ()
    arrived = router.call_arrived(call("c1", 0.0), now=0.0)
    assert (arrived.decisions, arrived.wake_at) == ((), 45.0)
    offer = only_offer(router.tick(45.0))
    assert offer.agent_id == 1
    assert offer.explanation.step == "after 45 s: + home"


def test_each_step_asks_to_be_woken_at_the_next_one() -> None:
    steps = [
        {"after_s": 30, "min_proficiency": 2},
        {"after_s": 60, "also_skills": {"billing": 4}},
        {"after_s": 90, "add_locations": ["home"], "label": "everyone"},
    ]
    router = make(queue(skills={"sales": 4}, locations=["on_site"], steps=steps))
    assert router.call_arrived(call("c1", 100.0), now=100.0).wake_at == 130.0
    assert router.tick(130.0).wake_at == 160.0
    assert router.tick(160.0).wake_at == 190.0
    assert router.tick(190.0).wake_at is None
    offer = only_offer(router.agent_available(agent(1, level=4, skill="billing"), now=200.0))
    assert offer.explanation.step == "everyone"
    # cumulative: the last step still admits the home agent with billing 4
    router.call_arrived(call("c2", 200.0), now=200.0)
    router.tick(290.0)
    home = only_offer(router.agent_available(agent(2, 4, "billing", "home"), now=291.0))
    assert home.call_id == "c2"


def test_late_wake_up_applies_every_step_that_fell_due() -> None:
    steps = [{"after_s": 30, "min_proficiency": 2}, {"after_s": 60, "add_locations": ["home"]}]
    router = make(queue(skills={"sales": 4}, locations=["on_site"], steps=steps))
    router.agent_available(agent(1, level=2, location="home"), now=0.0)
    router.call_arrived(call("c1", 0.0), now=0.0)
    offer = only_offer(router.tick(75.0))
    assert offer.agent_id == 1
    assert offer.explanation.step == "after 60 s: + home"


#: (ARRIVED + 60.0) - ARRIVED is 59.99999999999977 in floating point: a step or a
#: max wait measured as "waited" would not be reached at the instant it is due
ARRIVED = 2024.144563


def test_a_step_is_reached_at_the_wake_up_it_asked_for_despite_rounding() -> None:
    """The wake-up the router asks for is the step's instant; woken then, the step
    applies and the router asks for nothing at that same instant again (it used
    to, for ever: a what-if replay, and the live orchestrator, spun on it)."""
    assert (ARRIVED + 60.0) - ARRIVED < 60.0
    router = make(queue(skills={"sales": 4}, steps=[{"after_s": 60, "min_proficiency": 2}]))
    router.agent_available(agent(1, level=2), now=0.0)
    wake = router.call_arrived(call("c1", ARRIVED), now=ARRIVED).wake_at
    assert wake == ARRIVED + 60.0
    woken = router.tick(wake)
    assert only_offer(woken).agent_id == 1 and woken.wake_at is None


def test_max_wait_is_due_at_the_wake_up_it_asked_for_despite_rounding() -> None:
    router = make(queue(max_wait_s=60, overflow="voicemail"))
    wake = router.call_arrived(call("c1", ARRIVED), now=ARRIVED).wake_at
    assert wake == ARRIVED + 60.0
    woken = router.tick(wake)
    [overflow] = woken.decisions
    assert isinstance(overflow, Overflow) and woken.wake_at is None


def test_agent_takes_the_best_caller_they_are_eligible_for() -> None:
    """A fresh gold caller still needs proficiency 4; a bronze caller who waited
    past the step takes the proficiency-2 agent who becomes free."""
    router = make(queue(skills={"sales": 4}, steps=[{"after_s": 30, "min_proficiency": 2}]))
    router.call_arrived(call("bronze", 0.0, tier="bronze"), now=0.0)
    router.tick(30.0)
    router.call_arrived(call("gold", 35.0, tier="gold"), now=35.0)
    assert pairs(router.agent_available(agent(1, level=2), now=40.0)) == [("bronze", 1)]
    assert pairs(router.agent_available(agent(2, level=4), now=41.0)) == [("gold", 2)]


# -- partner agents ----------------------------------------------------------


def test_partner_agent_waits_until_the_queue_is_loaded() -> None:
    router = make(queue(partner={"min_waiting": 2}))
    router.agent_available(agent(1, location="partner"), now=0.0)
    assert router.call_arrived(call("c1", 1.0), now=1.0).decisions == ()
    loaded = router.call_arrived(call("c2", 2.0), now=2.0)
    offer = only_offer(loaded)
    assert (offer.call_id, offer.agent_id) == ("c1", 1)
    assert offer.explanation.trigger == "queue load"
    assert "partner agents admitted: 2 waiting >= 2" in offer.explanation.notes
    # one caller left: the gate is closed again
    assert router.agent_available(agent(2, location="partner"), now=3.0).decisions == ()
    assert pairs(router.call_arrived(call("c3", 4.0), now=4.0)) == [("c2", 2)]


def test_partner_agent_takes_a_call_that_waited_long_enough() -> None:
    router = make(queue(partner={"after_s": 60}))
    router.agent_available(agent(1, location="partner"), now=0.0)
    arrived = router.call_arrived(call("c1", 0.0), now=0.0)
    assert (arrived.decisions, arrived.wake_at) == ((), 60.0)
    assert router.tick(59.0).decisions == ()
    offer = only_offer(router.tick(60.0))
    assert offer.agent_id == 1
    assert offer.explanation.step == "after 60 s: partner agents"


def test_partner_gate_by_wait_applies_to_each_call_on_its_own() -> None:
    router = make(queue(partner={"after_s": 60}))
    router.call_arrived(call("old", 0.0), now=0.0)
    router.call_arrived(call("new", 50.0), now=50.0)
    router.tick(60.0)
    assert pairs(router.agent_available(agent(1, location="partner"), now=61.0)) == [("old", 1)]
    assert router.agent_available(agent(2, location="partner"), now=62.0).decisions == ()
    assert pairs(router.tick(110.0)) == [("new", 2)]


def test_queue_without_partner_rule_never_uses_partner_agents() -> None:
    router = make()
    router.agent_available(agent(1, location="partner"), now=0.0)
    arrived = router.call_arrived(call("c1", 0.0), now=0.0)
    assert (arrived.decisions, arrived.wake_at) == ((), None)
    assert router.tick(10 * DAY).decisions == ()


def test_own_agents_go_before_partners_when_the_gate_is_open() -> None:
    router = make(queue(partner={"min_waiting": 1}))
    router.agent_available(agent(1, location="partner", idle_since=-1000.0), now=0.0)
    router.agent_available(agent(2, location="home", idle_since=0.0), now=0.0)
    assert pairs(router.call_arrived(call("c1", 1.0), now=1.0)) == [("c1", 2)]
    assert pairs(router.call_arrived(call("c2", 2.0), now=2.0)) == [("c2", 1)]


# -- known agent -------------------------------------------------------------

KNOWN: dict[str, Any] = {"known_agent": {"within_days": 30, "wait_s": 20}}
NOW = 100 * DAY


def returning(call_id: str = "c1", at: float = NOW, served_days_ago: float = 2.0) -> WaitingCall:
    return call(call_id, at, last_agent_id=7, last_served_at=at - served_days_ago * DAY)


def test_returning_customer_goes_to_their_ready_agent_at_once() -> None:
    router = make(queue(**KNOWN))
    router.agent_available(agent(3, idle_since=0.0), now=NOW - 10)
    router.agent_available(agent(7, idle_since=NOW - 1), now=NOW - 1)
    offer = only_offer(router.call_arrived(returning(), now=NOW))
    assert offer.agent_id == 7
    assert "known agent: served this customer last; kept 20 s" in offer.explanation.notes


def test_returning_customer_waits_for_their_busy_agent() -> None:
    router = make(queue(**KNOWN))
    router.agent_busy(agent(7), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    arrived = router.call_arrived(returning(), now=NOW)
    assert (arrived.decisions, arrived.wake_at) == ((), NOW + 20)
    offer = only_offer(router.agent_available(agent(7), now=NOW + 15))
    assert (offer.call_id, offer.agent_id) == ("c1", 7)
    assert offer.explanation.trigger == "agent ready"


def test_returning_customer_goes_to_anyone_when_their_agent_stays_busy() -> None:
    router = make(queue(**KNOWN))
    router.agent_busy(agent(7), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    router.call_arrived(returning(), now=NOW)
    assert router.tick(NOW + 19.9).decisions == ()
    offer = only_offer(router.tick(NOW + 20))
    assert offer.agent_id == 3
    assert not any("known agent" in note for note in offer.explanation.notes)


def test_returning_customer_is_released_when_their_agent_goes_away() -> None:
    router = make(queue(**KNOWN))
    router.agent_busy(agent(7), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    router.call_arrived(returning(), now=NOW)
    released = router.agent_away(7, now=NOW + 5)
    assert pairs(released) == [("c1", 3)]
    assert released.offers[0].explanation.trigger == "agent away"


def test_customer_served_too_long_ago_is_not_kept() -> None:
    router = make(queue(**KNOWN))
    router.agent_busy(agent(7), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    assert pairs(router.call_arrived(returning(served_days_ago=31), now=NOW)) == [("c1", 3)]


def test_customer_is_not_kept_for_an_agent_not_on_shift() -> None:
    router = make(queue(**KNOWN))
    router.agent_available(agent(3), now=NOW - 10)
    assert pairs(router.call_arrived(returning(), now=NOW)) == [("c1", 3)]


def test_customer_is_not_kept_for_an_agent_without_the_queues_skills() -> None:
    router = make(queue(**KNOWN))
    router.agent_busy(agent(7, skill="billing"), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    assert pairs(router.call_arrived(returning(), now=NOW)) == [("c1", 3)]


def test_known_agent_rule_off_means_no_waiting_for_the_last_agent() -> None:
    router = make(queue())
    router.agent_busy(agent(7), now=NOW - 60)
    router.agent_available(agent(3), now=NOW - 10)
    assert pairs(router.call_arrived(returning(), now=NOW)) == [("c1", 3)]


def test_known_agent_working_from_a_location_the_queue_does_not_admit_yet() -> None:
    router = make(queue(locations=["on_site"], **KNOWN))
    router.agent_available(agent(7, location="home"), now=NOW - 1)
    assert pairs(router.call_arrived(returning(), now=NOW)) == [("c1", 7)]


def test_known_agent_who_misses_the_call_is_not_waited_for_again() -> None:
    router = make(queue(**KNOWN))
    router.agent_available(agent(7), now=NOW - 1)
    assert pairs(router.call_arrived(returning(), now=NOW)) == [("c1", 7)]
    router.agent_available(agent(3), now=NOW + 1)
    assert pairs(router.offer_failed("c1", now=NOW + 10)) == [("c1", 3)]


# -- overflow ----------------------------------------------------------------


def overflow_rules() -> tuple[QueueRule, QueueRule]:
    return (
        queue("first", max_wait_s=60, overflow="queue:second"),
        queue("second", max_wait_s=60, overflow="voicemail"),
    )


def test_overflowed_caller_keeps_their_original_place_in_the_next_queue() -> None:
    router = make(*overflow_rules())
    assert router.call_arrived(call("a1", 0.0, queue="first"), now=0.0).wake_at == 60.0
    router.call_arrived(call("b1", 30.0, queue="second"), now=30.0)
    moved = router.tick(60.0)
    assert moved.decisions == (
        Overflow(
            "a1", "first", Target(kind="queue", queue="second"), moved.decisions[0].explanation
        ),
    )
    assert router.waiting["a1"].queue == "second"
    offer = only_offer(router.agent_available(agent(1, skill="second"), now=70.0))
    assert (offer.call_id, offer.queue) == ("a1", "second")
    breakdown = offer.explanation.priority
    assert breakdown is not None
    assert breakdown.aging_points == 70.0


def test_overflowed_gold_caller_stays_ahead_in_the_next_queue() -> None:
    router = make(*overflow_rules())
    router.call_arrived(call("b1", 0.0, queue="second"), now=0.0)
    router.call_arrived(call("a1", 10.0, queue="first", tier="gold"), now=10.0)
    router.tick(70.0)
    assert pairs(router.agent_available(agent(1, skill="second"), now=75.0)) == [("a1", 1)]


def test_max_wait_in_the_next_queue_counts_from_entering_it() -> None:
    router = make(*overflow_rules())
    router.call_arrived(call("a1", 0.0, queue="first"), now=0.0)
    assert router.tick(60.0).wake_at == 120.0
    assert router.tick(119.0).decisions == ()
    final = router.tick(120.0)
    [overflow] = final.decisions
    assert isinstance(overflow, Overflow)
    assert (overflow.call_id, overflow.source_queue, overflow.target) == (
        "a1",
        "second",
        Target(kind="voicemail"),
    )
    assert "a1" not in router.waiting


def test_caller_overflows_to_voicemail_and_is_no_longer_offered() -> None:
    router = make(queue(max_wait_s=45, overflow="voicemail"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    [overflow] = router.tick(50.0).decisions
    assert isinstance(overflow, Overflow)
    assert overflow.target == Target(kind="voicemail")
    assert overflow.explanation.trigger == "max wait"
    assert overflow.explanation.notes == ("waited 50 s of at most 45 s; to voicemail",)
    assert router.agent_available(agent(1), now=51.0).decisions == ()


def test_offered_call_does_not_overflow_while_ringing() -> None:
    router = make(queue(max_wait_s=30, overflow="voicemail"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    assert pairs(router.agent_available(agent(1), now=25.0)) == [("c1", 1)]
    assert router.tick(40.0).decisions == ()


def test_failed_offer_after_max_wait_overflows_at_once() -> None:
    router = make(queue(max_wait_s=30, overflow="voicemail"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.agent_available(agent(1), now=25.0)
    decisions = settled(router, router.offer_failed("c1", now=40.0), now=40.0)
    assert [(type(d), d.call_id) for d in decisions] == [(Overflow, "c1")]
    assert "c1" not in router.waiting


def test_agent_who_missed_the_call_is_not_offered_it_in_the_next_queue() -> None:
    router = make(*overflow_rules())
    router.agent_available(agent(1, skill="first"), now=0.0)
    router.call_arrived(call("a1", 0.0, queue="first"), now=0.0)
    router.offer_failed("a1", now=15.0)
    router.agent_available(AgentFacts(1, {"first": 3, "second": 3}), now=16.0)
    decisions = router.tick(60.0).decisions
    assert [type(d) for d in decisions] == [Overflow]
    assert router.agent_available(agent(2, skill="second"), now=61.0).offers[0].call_id == "a1"


# -- failed offers -----------------------------------------------------------


def test_caller_keeps_place_after_no_answer() -> None:
    router = make()
    router.call_arrived(call("first", 0.0), now=0.0)
    router.call_arrived(call("second", 5.0), now=5.0)
    assert pairs(router.agent_available(agent(1), now=10.0)) == [("first", 1)]
    router.call_arrived(call("third", 12.0), now=12.0)
    assert router.offer_failed("first", now=25.0).decisions == ()
    assert pairs(router.agent_available(agent(2), now=30.0)) == [("first", 2)]
    assert pairs(router.agent_available(agent(3), now=31.0)) == [("second", 3)]


def test_agent_who_missed_a_call_is_never_offered_it_again() -> None:
    router = make()
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.agent_available(agent(1), now=1.0)
    router.offer_failed("c1", now=16.0)
    assert router.agent_available(agent(1), now=17.0).decisions == ()
    assert pairs(router.call_arrived(call("c2", 18.0), now=18.0)) == [("c2", 1)]
    assert pairs(router.agent_available(agent(2), now=19.0)) == [("c1", 2)]


def test_failed_offer_goes_to_another_ready_agent_at_once() -> None:
    router = make()
    router.agent_available(agent(1, idle_since=0.0), now=0.0)
    router.agent_available(agent(2, idle_since=5.0), now=5.0)
    assert pairs(router.call_arrived(call("c1", 10.0), now=10.0)) == [("c1", 1)]
    again = router.offer_failed("c1", now=25.0)
    assert pairs(again) == [("c1", 2)]
    assert again.offers[0].explanation.trigger == "offer failed"


def test_failed_offer_for_an_unknown_call_changes_nothing() -> None:
    router = make()
    router.call_arrived(call("c1", 0.0), now=0.0)
    assert router.offer_failed("c1", now=1.0).decisions == ()  # waiting, not offered
    assert router.offer_failed("nope", now=2.0).decisions == ()
    assert pairs(router.agent_available(agent(1), now=3.0)) == [("c1", 1)]


# -- calls and agents coming and going ---------------------------------------


def test_caller_who_hung_up_is_never_offered() -> None:
    router = make()
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_left("c1", now=5.0)
    assert router.agent_available(agent(1), now=6.0).decisions == ()


def test_busy_or_away_agent_is_not_offered() -> None:
    router = make()
    router.agent_available(agent(1), now=0.0)
    router.agent_busy(agent(1), now=1.0)
    router.agent_available(agent(2), now=1.0)
    router.agent_away(2, now=2.0)
    assert router.call_arrived(call("c1", 3.0), now=3.0).decisions == ()
    assert pairs(router.agent_available(agent(1), now=4.0)) == [("c1", 1)]


def test_agent_is_never_offered_two_calls_at_once() -> None:
    router = make()
    router.agent_available(agent(1), now=0.0)
    assert pairs(router.call_arrived(call("c1", 1.0), now=1.0)) == [("c1", 1)]
    assert router.call_arrived(call("c2", 2.0), now=2.0).decisions == ()
    assert not router.is_available(1)


def test_ready_agent_reported_ready_again_as_a_step_falls_due_gets_one_call() -> None:
    """The step gives the Ready agent the first caller before the report is read;
    the report cannot free an agent who is now ringing, so the second caller waits."""
    router = make(queue(skills={"sales": 3}, steps=[{"after_s": 30, "min_proficiency": 2}]))
    router.agent_available(agent(1, level=2), now=0.0)
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_arrived(call("c2", 0.0), now=0.0)
    again = router.agent_available(agent(1, level=2, idle_since=0.0), now=30.0)
    assert pairs(again) == [("c1", 1)]
    assert not router.is_available(1)
    assert set(router.waiting) == {"c2"}


def test_call_reported_twice_waits_once() -> None:
    router = make()
    router.call_arrived(call("c1", 0.0), now=0.0)
    assert router.call_arrived(call("c1", 0.0), now=1.0).decisions == ()
    assert pairs(router.agent_available(agent(1), now=2.0)) == [("c1", 1)]
    assert router.call_arrived(call("c1", 0.0), now=3.0).decisions == ()  # ringing
    assert router.agent_available(agent(2), now=4.0).decisions == ()


def test_call_reported_twice_still_settles_what_fell_due() -> None:
    router = make(queue(max_wait_s=60, overflow="voicemail"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_arrived(call("c2", 50.0), now=50.0)
    again = router.call_arrived(call("c2", 50.0), now=70.0)
    assert [(type(d), d.call_id) for d in again.decisions] == [(Overflow, "c1")]
    assert again.wake_at == 110.0


def test_readmitted_caller_is_not_turned_away_by_closed_hours() -> None:
    router = make(queue(hours={"weekly": {}}))  # never open
    new = router.call_arrived(call("new", 100.0), now=100.0)
    assert [type(d) for d in new.decisions] == [Closed]
    readmitted = router.call_arrived(call("c1", 0.0, admitted_at=0.0), now=100.0)
    assert readmitted.decisions == ()
    assert set(router.waiting) == {"c1"}


def test_readmitted_caller_keeps_the_bullseye_step_reached() -> None:
    router = make(queue(skills={"sales": 4}, steps=[{"after_s": 30, "min_proficiency": 2}]))
    router.agent_available(agent(1, level=2), now=0.0)
    assert router.call_arrived(call("fresh", 40.0), now=40.0).decisions == ()
    readmitted = router.call_arrived(call("c1", 0.0, admitted_at=0.0), now=40.0)
    assert pairs(readmitted) == [("c1", 1)]


def test_readmitted_caller_past_max_wait_overflows_at_once() -> None:
    router = make(queue(max_wait_s=60, overflow="voicemail"))
    readmitted = router.call_arrived(call("c1", 0.0, admitted_at=0.0), now=100.0)
    decisions = settled(router, readmitted, now=100.0)
    assert [(type(d), d.call_id) for d in decisions] == [(Overflow, "c1")]


def test_call_for_an_unknown_queue_is_refused() -> None:
    router = make()
    with pytest.raises(UnknownQueue):
        router.call_arrived(call("c1", 0.0, queue="nope"), now=0.0)
    assert router.waiting == {}


# -- rules replaced while callers wait ---------------------------------------


def test_relaxed_rule_gets_a_waiting_caller_offered_at_once() -> None:
    router = make(queue(skills={"sales": 4}))
    router.agent_available(agent(1, level=2), now=0.0)
    router.call_arrived(call("c1", 0.0), now=0.0)
    relaxed = RoutingRules(queues=[queue(skills={"sales": 2})])
    changed = router.replace_rules(relaxed, now=10.0)
    offer = only_offer(changed)
    assert (offer.call_id, offer.agent_id) == ("c1", 1)
    assert offer.explanation.trigger == "rules changed"
    assert router.rules == relaxed


def test_new_step_counts_from_when_the_caller_started_waiting() -> None:
    router = make(queue(skills={"sales": 4}))
    router.agent_available(agent(1, level=2), now=0.0)
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_arrived(call("c2", 25.0), now=25.0)
    stepped = RoutingRules(
        queues=[queue(skills={"sales": 4}, steps=[{"after_s": 20, "min_proficiency": 2}])]
    )
    changed = router.replace_rules(stepped, now=30.0)
    assert pairs(changed) == [("c1", 1)]
    assert changed.wake_at == 45.0  # c2 reaches the step 20 s after it arrived


def test_new_priorities_reorder_callers_already_waiting() -> None:
    router = make()
    router.call_arrived(call("gold", 0.0, tier="gold"), now=0.0)
    router.call_arrived(call("bronze", 0.0, tier="bronze"), now=0.0)
    bronze_first = RoutingRules(queues=[queue()], priority={"tiers": {"bronze": 500}})
    router.replace_rules(bronze_first, now=5.0)
    assert pairs(router.agent_available(agent(1), now=6.0)) == [("bronze", 1)]


def test_shorter_max_wait_overflows_callers_already_past_it() -> None:
    router = make()
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_arrived(call("c2", 90.0), now=90.0)
    strict = RoutingRules(queues=[queue(max_wait_s=60, overflow="callback")])
    decisions = settled(router, router.replace_rules(strict, now=100.0), now=100.0)
    assert [(type(d), d.call_id) for d in decisions] == [(Overflow, "c1")]
    assert set(router.waiting) == {"c2"}
    assert router.wake_at() == 150.0


def test_caller_kept_for_their_agent_under_new_rules_with_fewer_steps_is_offered() -> None:
    steps = [{"after_s": 10, "min_proficiency": 2}, {"after_s": 20, "min_proficiency": 1}]
    router = make(queue(known_agent={"wait_s": 60}, steps=steps))
    router.call_arrived(returning(at=0.0), now=0.0)
    router.tick(25.0)  # at the last step; agent 7 is not on shift, so not kept
    router.agent_busy(agent(7), now=26.0)
    no_steps = RoutingRules(queues=[queue(known_agent={"wait_s": 60})])
    kept = router.replace_rules(no_steps, now=30.0)
    assert (kept.decisions, kept.wake_at) == ((), 60.0)
    offer = only_offer(router.agent_available(agent(7), now=31.0))
    assert (offer.call_id, offer.agent_id) == ("c1", 7)
    assert offer.explanation.step == "initial"


def test_overflow_of_a_caller_kept_for_their_agent_names_the_step_in_force() -> None:
    rule = queue(
        known_agent={"wait_s": 60},
        steps=[{"after_s": 10, "min_proficiency": 2}],
        max_wait_s=40,
        overflow="voicemail",
    )
    router = make(rule)
    router.agent_busy(agent(7), now=0.0)
    assert router.call_arrived(returning(at=0.0), now=0.0).wake_at == 10.0
    assert router.tick(10.0).decisions == ()
    [overflow] = router.tick(40.0).decisions
    assert isinstance(overflow, Overflow)
    assert overflow.explanation.step == "after 10 s: proficiency >= 2"


def test_removing_a_queue_with_callers_is_refused_and_the_old_rules_stay() -> None:
    old = RoutingRules(queues=[queue("sales"), queue("billing")])
    router = Router(old)
    router.call_arrived(call("c1", 0.0, queue="billing"), now=0.0)
    with pytest.raises(
        RulesRefused, match="queues with callers in them cannot be removed: billing"
    ):
        router.replace_rules(RoutingRules(queues=[queue("sales")]), now=1.0)
    assert router.rules == old
    assert pairs(router.agent_available(agent(1, skill="billing"), now=2.0)) == [("c1", 1)]


def test_removing_a_queue_with_a_ringing_call_is_refused() -> None:
    router = make(queue("sales"), queue("billing"))
    router.agent_available(agent(1, skill="billing"), now=0.0)
    assert pairs(router.call_arrived(call("c1", 1.0, queue="billing"), now=1.0)) == [("c1", 1)]
    with pytest.raises(RulesRefused, match="billing"):
        router.replace_rules(RoutingRules(queues=[queue("sales")]), now=2.0)


def test_removing_the_queue_a_due_overflow_sends_a_caller_to_is_refused() -> None:
    router = make(*overflow_rules())
    router.call_arrived(call("a1", 0.0, queue="first"), now=0.0)
    without_second = RoutingRules(queues=[queue("first")])
    # at 60 s the caller is due to move to "second": removing it would strand them
    with pytest.raises(RulesRefused, match="second"):
        router.replace_rules(without_second, now=60.0)
    [overflow] = router.tick(60.0).decisions
    assert isinstance(overflow, Overflow)
    assert router.waiting["a1"].queue == "second"


def test_removing_an_empty_queue_is_accepted_and_its_callers_are_then_refused() -> None:
    router = make(queue("sales"), queue("billing"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.replace_rules(RoutingRules(queues=[queue("sales")]), now=1.0)
    with pytest.raises(UnknownQueue):
        router.call_arrived(call("c2", 2.0, queue="billing"), now=2.0)
    assert set(router.waiting) == {"c1"}


# -- explanations ------------------------------------------------------------


def test_offer_to_an_arriving_call_explains_the_agents_weighed() -> None:
    router = make(
        queue(priority=10), priority={"lifetime_value": [{"min_value": 500, "points": 40}]}
    )
    for agent_id, idle_since in ((1, 50.0), (2, 10.0), (3, 30.0), (4, 20.0), (5, 40.0)):
        router.agent_available(agent(agent_id, idle_since=idle_since), now=60.0)
    offer = only_offer(
        router.call_arrived(call("c1", 60.0, tier="gold", lifetime_value=900.0), now=90.0)
    )
    explanation = offer.explanation
    assert (explanation.trigger, explanation.queue) == ("call arrived", "sales")
    assert (explanation.step, explanation.strategy) == ("initial", "longest_idle")
    assert [(c.kind, c.id, c.chosen) for c in explanation.candidates] == [
        ("agent", "2", True),
        ("agent", "4", False),
        ("agent", "3", False),
        ("agent", "5", False),
    ]
    assert explanation.candidates[0].why == "agent 2 (on_site): idle 80 s, best by longest_idle"
    assert explanation.candidates[1].why == "agent 4 (on_site): idle 70 s, ranked after agent 2"
    assert explanation.summary() == (
        "agent 2 (on_site): idle 80 s, best by longest_idle; queue sales; step initial; "
        "priority 280 (gold 200 + value 40 + queue 10 + waited 30)"
    )
    as_json = explanation.as_json()
    assert as_json["summary"] == explanation.summary()
    assert as_json["priority"] == {
        "tier": "gold",
        "tier_points": 200,
        "value_points": 40,
        "queue_points": 10,
        "aging_points": 30.0,
        "total": 280.0,
    }


def test_offer_to_a_ready_agent_explains_the_calls_weighed() -> None:
    router = make(queue("sales"), queue("billing", skills={"sales": 3}))
    router.call_arrived(call("c1", 0.0), now=0.0)
    router.call_arrived(call("c2", 10.0, tier="gold"), now=10.0)
    router.call_arrived(call("c3", 20.0, queue="billing"), now=20.0)
    offer = only_offer(router.agent_available(agent(9), now=30.0))
    explanation = offer.explanation
    assert explanation.trigger == "agent ready"
    assert [(c.kind, c.id, c.chosen) for c in explanation.candidates] == [
        ("call", "c2", True),
        ("call", "c1", False),
        ("call", "c3", False),
    ]
    assert [c.why for c in explanation.candidates] == [
        "call c2 in sales: priority 220 (gold 200 + waited 20), highest for agent 9",
        "call c1 in sales: priority 30 (waited 30), lower",
        "call c3 in billing: priority 10 (waited 10), lower",
    ]
    assert explanation.summary().startswith("call c2 in sales: priority 220")


def test_call_the_agent_missed_is_explained_as_missed_not_as_lower() -> None:
    router = make()
    router.call_arrived(call("gold", 0.0, tier="gold"), now=0.0)
    router.agent_available(agent(1), now=1.0)
    router.call_arrived(call("plain", 5.0), now=5.0)
    router.offer_failed("gold", now=10.0)
    offer = only_offer(router.agent_available(agent(1), now=20.0))
    assert offer.call_id == "plain"
    assert [c.why for c in offer.explanation.candidates] == [
        "call plain in sales: priority 15 (waited 15), highest for agent 1",
        "call gold in sales: priority 220 (gold 200 + waited 20), agent 1 missed it before",
    ]


def test_closed_and_overflow_decisions_explain_themselves_too() -> None:
    router = make(queue(max_wait_s=30, overflow="callback"))
    router.call_arrived(call("c1", 0.0), now=0.0)
    [overflow] = router.tick(30.0).decisions
    assert overflow.explanation.summary() == (
        "max wait; queue sales; step initial; priority 30 (waited 30); "
        "waited 30 s of at most 30 s; to callback"
    )
    closed_router = make(queue(hours={"weekly": {}}))
    [closed] = closed_router.call_arrived(call("c2", 0.0), now=0.0).decisions
    assert isinstance(closed, Closed)
    assert closed.explanation.summary() == (
        "closed; queue sales; step -; outside hours (thu closed all day, UTC); "
        "closed action: voicemail"
    )
