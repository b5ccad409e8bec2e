"""How an offer reaches each agent: on the caller's PBX as is, another site through
its trunk, an outside number through the outbound trunk with "press 1"; and the
settings and dial strings that make it so."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents import AgentProfile, Location
from agents.dial_strings import InvalidDialString, check_dial_string
from callcenter.ami import actions
from callcenter.orchestration.dialing import DialPlan, OfferTarget, Unreachable, offer_target
from callcenter.settings import Settings

SITES = frozenset({"pbx1", "pbx2"})
PLAN = DialPlan(
    outbound_trunks={"pbx1": "outbound-trunk", "pbx2": "pstn2"},
    site_trunks={("pbx1", "pbx2"): "site-pbx2", ("pbx2", "pbx1"): "site-pbx1"},
    sites=SITES,
)


def agent(
    dial_string: str, location: Location = Location.ON_SITE, pbx: str = "pbx1"
) -> AgentProfile:
    return AgentProfile(
        agent_id=7, login="agent07", name="Ada", dial_string=dial_string, location=location, pbx=pbx
    )


# -- a phone of the caller's PBX ---------------------------------------------------


@pytest.mark.parametrize("location", [Location.ON_SITE, Location.REMOTE_SITE, Location.HOME])
def test_a_phone_on_the_callers_pbx_is_dialled_as_it_is(location: Location) -> None:
    target = offer_target(agent("PJSIP/agent1001", location), "pbx1", PLAN)
    assert target == OfferTarget("PJSIP/agent1001", confirm=False)


def test_a_home_agents_softphone_is_never_asked_to_confirm() -> None:
    target = offer_target(agent("PJSIP/home07", Location.HOME), "pbx1", PLAN)
    assert target.confirm is False
    assert target.dial_string == "PJSIP/home07"


# -- a phone of another site --------------------------------------------------------


@pytest.mark.parametrize(
    ("dial_string", "expected"),
    [
        ("PJSIP/agent1001", "PJSIP/agent1001@site-pbx2"),
        ("SIP/2001", "PJSIP/2001@site-pbx2"),
        ("Local/1001@agent-sim", "PJSIP/1001@site-pbx2"),
        ("Local/1001@agent-sim/n", "PJSIP/1001@site-pbx2"),
    ],
)
def test_a_phone_on_another_site_is_dialled_through_the_inter_site_trunk(
    dial_string: str, expected: str
) -> None:
    for location in (Location.REMOTE_SITE, Location.HOME):
        target = offer_target(agent(dial_string, location, pbx="pbx2"), "pbx1", PLAN)
        assert target == OfferTarget(expected, confirm=False)


def test_the_trunk_is_the_one_of_the_callers_pbx_towards_the_agents() -> None:
    target = offer_target(agent("PJSIP/agent1001", pbx="pbx1"), "pbx2", PLAN)
    assert target.dial_string == "PJSIP/agent1001@site-pbx1"


def test_another_site_without_a_trunk_is_unreachable_and_says_which_trunk() -> None:
    one_way = DialPlan(site_trunks={("pbx2", "pbx1"): "site-pbx1"}, sites=SITES)
    with pytest.raises(Unreachable) as refused:
        offer_target(agent("PJSIP/agent1001", pbx="pbx2"), "pbx1", one_way)
    assert "no site trunk from pbx1 to pbx2" in refused.value.reason
    assert "agent07" in refused.value.reason


@pytest.mark.parametrize("dial_string", ["PJSIP/agent1001@another-trunk", "DAHDI/g1/5551234"])
def test_a_device_with_no_extension_to_dial_on_its_site_is_not_guessed(
    dial_string: str,
) -> None:
    with pytest.raises(Unreachable, match="no extension to dial"):
        offer_target(agent(dial_string, pbx="pbx2"), "pbx1", PLAN)


# -- an outside number ----------------------------------------------------------------


@pytest.mark.parametrize("location", [Location.HOME, Location.PARTNER])
def test_an_outside_number_goes_out_the_outbound_trunk_and_must_press_1(
    location: Location,
) -> None:
    target = offer_target(agent("+493012345678", location), "pbx1", PLAN)
    assert target == OfferTarget("PJSIP/+493012345678@outbound-trunk", confirm=True)


def test_the_outbound_trunk_is_the_callers_pbxs_wherever_the_agent_belongs() -> None:
    home = agent("+493012345678", Location.HOME, pbx="pbx1")
    assert offer_target(home, "pbx2", PLAN).dial_string == "PJSIP/+493012345678@pstn2"


def test_confirmation_can_be_turned_off() -> None:
    plan = DialPlan(outbound_trunks={"pbx1": "outbound-trunk"}, confirm_external=False)
    target = offer_target(agent("+493012345678", Location.PARTNER), "pbx1", plan)
    assert target == OfferTarget("PJSIP/+493012345678@outbound-trunk", confirm=False)


def test_an_outside_number_without_an_outbound_trunk_is_unreachable() -> None:
    with pytest.raises(Unreachable, match=r"no outbound_trunk on \[\[pbx\]\] pbx3"):
        offer_target(agent("+493012345678", Location.HOME), "pbx3", PLAN)


@pytest.mark.parametrize("number", ["03012345678", "+49 30 12345678", "+14155", "+999123456"])
def test_a_number_that_is_not_e164_is_unreachable(number: str) -> None:
    with pytest.raises(Unreachable, match="agent07"):
        offer_target(agent(number, Location.HOME), "pbx1", PLAN)


@pytest.mark.parametrize(
    "profile",
    [
        agent("PJSIP/agent1001"),
        agent("PJSIP/agent1001", pbx="pbx2"),
        agent("Local/1001@agent-sim", pbx="pbx2"),
        agent("+14155550123", Location.HOME),
    ],
)
def test_every_target_is_a_dial_string_an_originate_accepts(profile: AgentProfile) -> None:
    target = offer_target(profile, "pbx1", PLAN)
    headers = actions.originate_agent_leg(
        leg_id="agentleg-1",
        call_id="c1",
        agent_target=target.dial_string,
        caller_channel="Local/100@callcenter-inbound-00000000;2",
        ring_timeout_s=15,
        caller_id_number="+12025550100",
        caller_id_name="Caller",
        confirm=target.confirm,
    )
    assert ("Channel", target.dial_string) in headers


# -- settings ------------------------------------------------------------------------


def test_the_dial_plan_is_built_from_the_pbx_tables_and_dialing() -> None:
    settings = Settings(
        pbx=[
            {"name": "pbx1", "outbound_trunk": "outbound-trunk", "site_trunks": {"pbx2": "to2"}},
            {"name": "pbx2", "secret": "s", "site_trunks": {"pbx1": "to1"}},
        ],
        dialing={"confirm_external": False},
    )
    plan = DialPlan.from_settings(settings)
    assert plan == DialPlan(
        outbound_trunks={"pbx1": "outbound-trunk"},
        site_trunks={("pbx1", "pbx2"): "to2", ("pbx2", "pbx1"): "to1"},
        confirm_external=False,
        sites=SITES,
    )


def test_by_default_outside_numbers_must_confirm_and_no_trunk_is_assumed() -> None:
    plan = DialPlan.from_settings(Settings(pbx=[{"name": "pbx1"}]))
    assert plan.confirm_external is True
    assert plan.outbound_trunks == {} and plan.site_trunks == {}


@pytest.mark.parametrize(
    ("pbx", "field", "words"),
    [
        ([{"name": "pbx1", "outbound_trunk": "out trunk"}], "outbound_trunk", "pattern"),
        ([{"name": "pbx1", "outbound_trunk": "x\r\nAction: Originate"}], "outbound_trunk", ""),
        (
            [{"name": "pbx1", "site_trunks": {"pbx2": "to 2"}}, {"name": "pbx2"}],
            "site_trunks",
            "not a PJSIP endpoint name",
        ),
        ([{"name": "pbx1", "site_trunks": {"pbx9": "to9"}}], "site_trunks", "no [[pbx]] named"),
        ([{"name": "pbx1", "site_trunks": {"pbx1": "loop"}}], "site_trunks", "to itself"),
        ([{"name": "pbx1"}, {"name": "pbx1"}], "pbx", "used twice"),
    ],
)
def test_wrong_trunk_settings_are_refused_naming_the_field(
    pbx: list[dict[str, object]], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(pbx=pbx)
    assert field in str(refused.value)
    assert words in str(refused.value)


# -- agents' dial strings, as loaded ---------------------------------------------------


@pytest.mark.parametrize(
    "profile",
    [
        agent("PJSIP/agent1001"),
        agent("Local/1001@agent-sim", Location.REMOTE_SITE),
        agent("PJSIP/home07", Location.HOME),
        agent("+493012345678", Location.HOME),
        agent("+14155550123", Location.PARTNER),
    ],
)
def test_devices_and_e164_numbers_of_home_and_partner_agents_are_accepted(
    profile: AgentProfile,
) -> None:
    check_dial_string(profile)


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        (agent("030 12345678", Location.HOME), "E.164"),
        (agent("+49 30 12345678", Location.PARTNER), "E.164"),
        (agent("+14155", Location.HOME), "possible"),
        (agent("+999123456", Location.PARTNER), "not a phone number"),
        (agent("+493012345678", Location.ON_SITE), "only home and partner"),
        (agent("agent1001", Location.ON_SITE), "neither a device"),
        (agent("PJSIP/a;b", Location.ON_SITE), "neither a device"),
    ],
)
def test_a_dial_string_no_offer_could_ring_is_refused_naming_the_agent(
    profile: AgentProfile, words: str
) -> None:
    with pytest.raises(InvalidDialString) as refused:
        check_dial_string(profile)
    assert "agent07" in str(refused.value)
    assert words in str(refused.value)


def test_an_agent_on_a_pbx_that_is_not_configured_is_on_the_callers() -> None:
    """One PBX named ``site-a`` and agents left at the default ``pbx1``: there is
    no other site to reach them through, so their phones are dialled directly."""
    plan = DialPlan(sites=frozenset({"site-a"}))
    target = offer_target(agent("PJSIP/agent1001", pbx="pbx1"), "site-a", plan)
    assert target == OfferTarget("PJSIP/agent1001")
