"""Scenario files: the shipped ones load, bad ones are refused with the field and the
reason, distributions have the means they claim, agents find their group, and the
old one-number settings still mean what they meant."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest

from callcenter.demo import resolve_scenario
from callcenter.pbxsim.scenario import (
    AgentGroup,
    Exponential,
    Fixed,
    LogNormal,
    Scenario,
    ScenarioError,
    Survey,
    Uniform,
    load_scenario,
)
from callcenter.settings import SimulatorSettings

SCENARIOS = sorted(Path("config/scenarios").glob("*.toml"))
QUEUES = ["sales", "support", "billing"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_fits_the_demo_queues(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert set(scenario.rates_per_s(QUEUES)) <= set(QUEUES)
    assert any(g.simulated for g in scenario.agents)


def test_there_is_more_than_the_demo() -> None:
    assert {"demo", "peak", "day"} <= {p.stem for p in SCENARIOS}


def test_the_demo_offers_about_20_erlangs_to_18_simulated_agents() -> None:
    demo = load_scenario(Path("config/scenarios/demo.toml"))
    erlangs = sum(demo.rates_per_s(QUEUES).values()) * demo.talk.mean
    assert 19 <= erlangs <= 21
    simulated = [g for g in demo.agents if g.simulated]
    assert [g.count for g in simulated] == [18]
    assert demo.duration_s is None, "make run plays until stopped"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        (
            "[arrivals]\nsales = 10\n[[agents]]\nbusy = 1.5\n",
            "agents.0.busy",
            "less than or equal to 1",
        ),
        ("patiense = 30\n[arrivals]\nsales = 10\n", "patiense", "Extra inputs are not permitted"),
        ("time_scale = 0\n[arrivals]\nsales = 10\n", "time_scale", "greater than 0"),
        ("[arrivals]\nsales = 0\n", "arrivals", "at least one queue needs calls"),
        ("[arrivals]\nsales = -5\n", "arrivals.sales", "must be >= 0"),
        (
            "[arrivals]\nsales = 10\n[talk]\ndist = 'gamma'\nmean = 3\n",
            "talk",
            "does not match any of the expected tags",
        ),
        (
            "[arrivals]\nsales = 10\n[talk]\ndist = 'uniform'\nlow = 5\nhigh = 1\n",
            "talk",
            "high must not be below low",
        ),
        (
            "[arrivals]\nsales = 10\n[[agents]]\nbusy = 0.5\nnever_answer = 0.6\n",
            "agents.0",
            "must not exceed 1",
        ),
        (
            "[arrivals]\nsales = 10\n[[load]]\nuntil_s = 60\nfactor = 1\n"
            "[[load]]\nuntil_s = 30\nfactor = 2\n",
            "load",
            "after the previous one",
        ),
        ("arrivals = 3\n", "arrivals", "valid dictionary"),
    ],
)
def test_a_bad_scenario_is_refused_naming_the_field_and_the_reason(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    with pytest.raises(ScenarioError) as error:
        load_scenario(_write(tmp_path, text))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'bad.toml'}: ")
    assert field in message and reason in message, message
    assert "https://" not in message, "no pydantic links in a user-facing error"


def test_broken_toml_and_a_missing_file_are_reported_as_such(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(_write(tmp_path, "[arrivals\n"))
    with pytest.raises(ScenarioError, match="cannot read the scenario"):
        load_scenario(tmp_path / "missing.toml")


def test_a_plain_number_is_a_fixed_duration(tmp_path: Path) -> None:
    scenario = load_scenario(
        _write(tmp_path, "patience = 30\n[arrivals]\nsales = 1\n[[agents]]\nwrap_up = 7\n")
    )
    assert scenario.patience == Fixed(mean=30)
    assert scenario.agents[0].wrap_up == Fixed(mean=7)


@pytest.mark.parametrize(
    "dist",
    [
        Fixed(mean=4.0),
        Exponential(dist="exponential", mean=10.0),
        Uniform(dist="uniform", low=30.0, high=90.0),
        LogNormal(dist="lognormal", mean=60.0, sd=30.0),
    ],
    ids=lambda d: d.dist,
)
def test_each_distribution_draws_around_its_mean(
    dist: Fixed | Exponential | Uniform | LogNormal,
) -> None:
    rng = random.Random(5)
    draws = [dist.draw(rng) for _ in range(40_000)]
    assert min(draws) >= 0
    assert statistics.fmean(draws) == pytest.approx(dist.mean, rel=0.03)


def test_a_lognormal_has_the_spread_it_was_given() -> None:
    rng = random.Random(6)
    draws = [LogNormal(dist="lognormal", mean=60.0, sd=30.0).draw(rng) for _ in range(40_000)]
    assert statistics.stdev(draws) == pytest.approx(30.0, rel=0.06)


def test_an_agent_belongs_to_the_first_group_that_fits() -> None:
    scenario = Scenario(
        arrivals={"sales": 1},
        agents=[
            AgentGroup(name="slow", match="PJSIP/agent0[3-5]"),
            AgentGroup(name="people", simulated=False),
            AgentGroup(name="rest", simulated=True),
        ],
    )
    assert scenario.group_for("PJSIP/agent04", simulated=True).name == "slow"
    assert scenario.group_for("PJSIP/agent01", simulated=False).name == "people"
    assert scenario.group_for("PJSIP/agent09", simulated=True).name == "rest"
    lonely = Scenario(arrivals={"sales": 1}, agents=[AgentGroup(simulated=True)])
    assert lonely.group_for("PJSIP/agent01", simulated=False).name == "default"


def test_the_shares_say_how_often_a_phone_misbehaves_per_offer() -> None:
    rng = random.Random(1)
    group = AgentGroup(
        answer_delay=Fixed(mean=2.0),
        never_answer=0.1,
        busy=0.2,
        unregistered=0.3,
        hangup_first=0.5,
        agent_talk=Fixed(mean=20.0),
    )
    draws = [group.draw_behaviour(rng, time_scale=0.5) for _ in range(20_000)]
    unregistered = sum(not b.registered for b in draws) / len(draws)
    busy = sum(b.busy for b in draws) / len(draws)
    never = sum(b.registered and not b.busy and b.answer_after_s is None for b in draws)
    answering = [b for b in draws if b.registered and not b.busy and b.answer_after_s]
    assert unregistered == pytest.approx(0.3, abs=0.015)
    assert busy == pytest.approx(0.2, abs=0.015)
    assert never / len(draws) == pytest.approx(0.1, abs=0.015)
    assert {b.answer_after_s for b in answering} == {2.0 * 0.5}, "scaled by time_scale"
    hangs_up = [b for b in answering if b.hangup_after_s is not None]
    assert len(hangs_up) / len(answering) == pytest.approx(0.5, abs=0.03)
    assert {b.hangup_after_s for b in hangs_up} == {10.0}


def test_survey_answers_follow_the_share_and_the_weights() -> None:
    rng = random.Random(2)
    survey = Survey(answer_share=0.6, scores={"5": 3.0, "1": 1.0})
    keys = [survey.draw(rng) for _ in range(20_000)]
    answered = [k for k in keys if k is not None]
    assert len(answered) / len(keys) == pytest.approx(0.6, abs=0.015)
    assert set(answered) == {"5", "1"}
    assert answered.count("5") / len(answered) == pytest.approx(0.75, abs=0.02)
    assert Survey().draw(rng) is None, "by default callers hang up on the survey"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[survey]\nscores = { "6" = 1.0 }\n', "survey.scores.6"),
        ('[survey]\nscores = { "5" = 0.0 }\n', "at least one above 0"),
        ("[survey]\nanswer_share = 1.5\n", "survey.answer_share"),
    ],
)
def test_a_bad_survey_is_refused_naming_the_field(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ScenarioError) as error:
        load_scenario(_write(tmp_path, "[arrivals]\nsales = 10\n" + text))
    assert reason in str(error.value), str(error.value)


def test_a_star_spreads_its_rate_over_every_queue_and_unknown_queues_are_refused() -> None:
    scenario = Scenario(arrivals={"*": 3600, "sales": 360})
    rates = scenario.rates_per_s(QUEUES)
    assert rates["sales"] == pytest.approx(1 / 3 + 0.1)
    assert rates["billing"] == pytest.approx(1 / 3)
    with pytest.raises(ScenarioError, match="no such queue refunds"):
        Scenario(arrivals={"refunds": 10}).rates_per_s(QUEUES)


def test_the_settings_default_to_the_demo_scenario_and_refuse_a_missing_one(
    tmp_path: Path,
) -> None:
    assert SimulatorSettings().scenario == Path("config/scenarios/demo.toml")
    with pytest.raises(ValueError, match="no scenario file at"):
        SimulatorSettings(scenario=tmp_path / "nope.toml")


def test_one_number_settings_set_explicitly_override_the_scenario() -> None:
    demo = resolve_scenario(SimulatorSettings())
    assert demo == load_scenario(Path("config/scenarios/demo.toml")), "nothing overridden"

    sim = SimulatorSettings(
        answer_delay_s=0.2, talk_time_s=1.0, call_interval_s=1.0, seed=3, time_scale=0.5
    )
    scenario = resolve_scenario(sim)
    pinned = scenario.group_for("PJSIP/agent05", simulated=True)
    assert pinned.answer_delay == Fixed(mean=0.2) and pinned.never_answer == 0
    assert scenario.group_for("PJSIP/agent01", simulated=False).name == "people"
    assert scenario.talk == Uniform(dist="uniform", low=0.5, high=1.5)
    assert scenario.patience == demo.patience
    assert sum(scenario.arrivals.values()) == pytest.approx(3600)
    assert (scenario.seed, scenario.time_scale) == (3, 0.5)


def test_without_a_scenario_file_the_one_number_settings_are_the_whole_load() -> None:
    scenario = resolve_scenario(
        SimulatorSettings(scenario=None, call_interval_s=3.0, answer_delay_s=1.5)
    )
    assert scenario.arrivals == {"*": 1200}
    assert scenario.group_for("PJSIP/x", simulated=True).answer_delay == Fixed(mean=1.5)
    assert scenario.group_for("PJSIP/y", simulated=False).answer_delay == Fixed(mean=4.0)
