"""Simulated traffic: same seed, same calls; Poisson arrivals at the scenario's rates;
the generator places exactly its plan; phones and simulated agents behave per offer.

Nothing here reads a clock: the plan is compared as data, and the simulated
agents are stepped with explicit times.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agents import AgentState
from callcenter.demo import WRAP_UP, DemoSimulator, SimulatedDesk
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.scenario import (
    AgentGroup,
    Exponential,
    Fixed,
    LoadPhase,
    Scenario,
    load_scenario,
)
from callcenter.pbxsim.traffic import CallerGenerator, PhonePlan, PlannedCall, plan_calls
from callcenter.ports import AgentView
from callcenter.settings import PbxSettings

QUEUES = ["sales", "support", "billing"]
NUMBERS = [(f"+4420794600{n:02d}", f"Customer {n}") for n in range(40)]
ACCOUNTS = {number: f"4000{n:04d}" for n, (number, _) in enumerate(NUMBERS)}


def _demo_hour() -> Scenario:
    return load_scenario(Path("config/scenarios/demo.toml")).with_changes(duration_s=3600)


def _plan(scenario: Scenario, seed: int) -> list[PlannedCall]:
    return list(
        plan_calls(
            scenario,
            queues=QUEUES,
            numbers=NUMBERS,
            accounts=ACCOUNTS,
            rng=random.Random(seed),
        )
    )


def test_the_same_seed_plays_the_same_calls() -> None:
    first, second = _plan(_demo_hour(), 7), _plan(_demo_hour(), 7)
    assert len(first) > 1000
    assert first == second
    assert _plan(_demo_hour(), 8) != first


def test_the_plan_does_not_depend_on_the_time_scale() -> None:
    """Scaling happens when a call is placed: the planned calls stay the same."""
    fast = _demo_hour().with_changes(time_scale=0.01)
    assert _plan(fast, 7) == _plan(_demo_hour(), 7)


def test_arrivals_come_at_the_scenario_rates() -> None:
    scenario = Scenario(duration_s=100_000, arrivals={"sales": 600, "support": 1200})
    calls = _plan(scenario, 1)
    expected = (600 + 1200) / 3600 * 100_000
    assert len(calls) == pytest.approx(expected, rel=0.03)
    share = sum(c.queue == "support" for c in calls) / len(calls)
    assert share == pytest.approx(2 / 3, abs=0.02)
    assert all(a.at_s < b.at_s for a, b in itertools.pairwise(calls))
    gaps = [b.at_s - a.at_s for a, b in itertools.pairwise(calls)]
    # Exponential gaps: the standard deviation equals the mean.
    mean = sum(gaps) / len(gaps)
    sd = (sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5
    assert sd == pytest.approx(mean, rel=0.05)


def test_load_phases_shape_the_day() -> None:
    scenario = Scenario(
        duration_s=30_000,
        arrivals={"sales": 3600},
        load=[LoadPhase(until_s=10_000, factor=0), LoadPhase(until_s=20_000, factor=2)],
    )
    calls = _plan(scenario, 2)
    assert not [c for c in calls if c.at_s < 10_000]
    peak = sum(10_000 <= c.at_s < 20_000 for c in calls)
    after = sum(c.at_s >= 20_000 for c in calls)
    assert peak == pytest.approx(20_000, rel=0.03)
    assert after == pytest.approx(10_000, rel=0.03)


def test_callers_come_from_the_crm_some_typing_their_account() -> None:
    scenario = Scenario(duration_s=36_000, arrivals={"*": 3600}, account_share=0.3)
    calls = _plan(scenario, 3)
    assert {c.caller_number for c in calls} <= {n for n, _ in NUMBERS}
    typed = [c for c in calls if c.account]
    assert len(typed) / len(calls) == pytest.approx(0.3, abs=0.02)
    assert all(ACCOUNTS[c.caller_number] == c.account for c in typed)

    strangers = _plan(scenario.with_changes(unknown_share=1.0), 3)
    assert not {c.caller_number for c in strangers} & {n for n, _ in NUMBERS}
    assert not any(c.account for c in strangers), "unknown callers have no account"


def test_patience_and_talk_come_from_their_distributions() -> None:
    scenario = Scenario(
        duration_s=36_000,
        arrivals={"sales": 3600},
        patience=Exponential(dist="exponential", mean=50.0),
        talk=Fixed(mean=42.0),
    )
    calls = _plan(scenario, 4)
    assert sum(c.patience_s for c in calls) / len(calls) == pytest.approx(50.0, rel=0.05)
    assert {c.talk_s for c in calls} == {42.0}


async def test_the_generator_places_exactly_its_plan_scaled() -> None:
    scenario = _demo_hour().with_changes(duration_s=600, time_scale=0.0001)
    sim = RecordingSimulator(dids={"100": "sales", "200": "support", "300": "billing"})
    callers = CallerGenerator(sim, scenario, queues=QUEUES, numbers=NUMBERS, seed=9)
    try:
        await callers.run()
    finally:
        await sim.stop()
    planned = list(callers.plan())
    assert callers.finished.is_set()
    assert [p.call for p in callers.placed] == planned
    assert [p.linkedid for p in callers.placed] == sim.linkedids
    first = sim.calls[0]
    assert first["patience_s"] == pytest.approx(planned[0].patience_s * 0.0001)
    assert first["talk_s"] == pytest.approx(planned[0].talk_s * 0.0001)


def test_a_queue_without_a_did_is_refused_before_any_call() -> None:
    scenario = Scenario(arrivals={"refunds": 10})
    with pytest.raises(ValueError, match="no such queue refunds"):
        CallerGenerator(PbxSimulator(), scenario, queues=QUEUES, numbers=NUMBERS, seed=1)


class RecordingSimulator(PbxSimulator):
    """A real simulator (not listening) that also remembers what was asked of it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[dict[str, Any]] = []
        self.linkedids: list[str] = []
        self.behaviours: dict[str, list[PhoneBehaviour]] = {}

    def place_call(self, **kwargs: Any) -> str:
        linkedid = super().place_call(**kwargs)
        self.calls.append(kwargs)
        self.linkedids.append(linkedid)
        return linkedid

    def add_phone(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        super().add_phone(dial_string, behaviour)
        self.behaviours.setdefault(dial_string, []).append(behaviour)

    def set_phone_behaviour(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        super().set_phone_behaviour(dial_string, behaviour)
        self.behaviours.setdefault(dial_string, []).append(behaviour)


def test_each_offer_to_a_phone_gets_a_fresh_draw_from_its_own_stream() -> None:
    group = AgentGroup(answer_delay=Exponential(dist="exponential", mean=2.0), never_answer=0.2)

    def draws(order: list[str]) -> dict[str, list[PhoneBehaviour]]:
        sim = RecordingSimulator()
        plan = PhonePlan(sim, seed=5, time_scale=1.0)
        for dial in ("PJSIP/a", "PJSIP/b"):
            plan.add(dial, group)
        for dial in order:
            plan.redraw(dial)
        plan.redraw("PJSIP/unknown")  # not in the plan: ignored
        return sim.behaviours

    one = draws(["PJSIP/a"] * 50 + ["PJSIP/b"] * 50)
    other = draws(["PJSIP/b", "PJSIP/a"] * 50)
    assert one == other, "one phone's offers do not shift another's draws"
    delays = [b.answer_after_s for b in one["PJSIP/a"]]
    assert len(set(delays)) > 30
    assert None in delays, "some offers are never answered"


# -- simulated agents -----------------------------------------------------------


@dataclass
class FakeDesk:
    """The orchestrator's agent-facing side, as the simulated agents use it."""

    views: dict[int, AgentView]
    requests: list[tuple[int, AgentState, str | None]] = field(default_factory=list)

    def agent_view(self, agent_id: int) -> AgentView:
        return self.views[agent_id]

    async def set_agent_state(
        self, agent_id: int, state: AgentState, reason: str | None = None
    ) -> AgentView:
        self.requests.append((agent_id, state, reason))
        return self.views[agent_id]

    def put(self, agent_id: int, state: AgentState, since: float, **extra: Any) -> None:
        self.views[agent_id] = AgentView(agent_id, f"agent{agent_id}", "", state, since, **extra)


def _desk(wrap_up_s: float, pause_s: float = 3.0) -> tuple[FakeDesk, SimulatedDesk, DemoSimulator]:
    scenario = Scenario(
        arrivals={"sales": 1},
        agents=[AgentGroup(simulated=True, wrap_up=Fixed(mean=wrap_up_s))],
    )
    sim = DemoSimulator(PbxSettings(), scenario, seed=1, dids={"100": "sales"})
    sim.phones.add("PJSIP/agent03", scenario.agents[0])
    sim.dial_of_agent[3] = "PJSIP/agent03"
    fake = FakeDesk({})
    desk = SimulatedDesk(fake, frozenset({3}), sim, pause_s=pause_s, seed=1)  # type: ignore[arg-type]
    return fake, desk, sim


async def test_a_simulated_agent_wraps_up_after_a_call_then_presses_ready() -> None:
    fake, desk, _ = _desk(wrap_up_s=10.0)
    fake.put(3, AgentState.RINGING, 100.0)
    await desk.step(100.1)
    assert fake.requests == [(3, AgentState.NOT_READY, WRAP_UP)], "asked for during the offer"
    fake.put(3, AgentState.ON_CALL, 101.0, pending=AgentState.NOT_READY)
    await desk.step(101.1)
    fake.put(3, AgentState.NOT_READY, 160.0, reason=WRAP_UP)
    await desk.step(165.0)
    assert fake.requests[1:] == [], "still wrapping up"
    await desk.step(170.0)
    assert fake.requests[1:] == [(3, AgentState.READY, None)]


async def test_an_offer_that_never_connected_needs_no_wrap_up() -> None:
    fake, desk, _ = _desk(wrap_up_s=10.0)
    fake.put(3, AgentState.RINGING, 100.0)
    await desk.step(100.1)
    fake.put(3, AgentState.NOT_READY, 101.0, reason=WRAP_UP)  # the caller left first
    await desk.step(101.0)
    assert fake.requests[-1] == (3, AgentState.READY, None)


async def test_after_a_missed_offer_the_agent_pauses_then_presses_ready() -> None:
    fake, desk, _ = _desk(wrap_up_s=0.0, pause_s=3.0)
    fake.put(3, AgentState.RINGING, 100.0)
    await desk.step(100.1)
    assert fake.requests == [], "no wrap-up in this group: nothing asked during the offer"
    fake.put(3, AgentState.NOT_READY, 115.0, reason="no answer")
    await desk.step(117.0)
    assert fake.requests == []
    await desk.step(118.0)
    assert fake.requests == [(3, AgentState.READY, None)]


async def test_each_state_change_redraws_the_agents_phone() -> None:
    fake, desk, sim = _desk(wrap_up_s=0.0)
    redrawn: list[str] = []
    sim.phones.redraw = redrawn.append  # type: ignore[method-assign,assignment]
    fake.put(3, AgentState.READY, 1.0)
    await desk.step(1.0)
    await desk.step(2.0)
    fake.put(3, AgentState.RINGING, 3.0)
    await desk.step(3.0)
    assert redrawn == ["PJSIP/agent03", "PJSIP/agent03"]
