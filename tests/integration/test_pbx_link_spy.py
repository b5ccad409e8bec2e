"""The PBX link's supervisor leg: it spies on the channel the tracker knows for the
agent leg, and refuses (without sending anything) what it cannot place."""

from __future__ import annotations

import pytest

from callcenter.ami.message import Message
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.pbx_link import PbxLink
from callcenter.settings import PbxSettings

AGENT_LEG = "agentleg-c1-1"


def link_knowing_the_agent_leg() -> PbxLink:
    """A link (never connected) whose tracker saw the agent leg's channel."""
    link = PbxLink(PbxSettings(name="pbx1", port=1))
    link.tracker.feed(
        Message.build(
            Event="Newchannel",
            Channel="PJSIP/agent01-0000000a",
            ChannelStateDesc="Up",
            Uniqueid=AGENT_LEG,
            Linkedid=AGENT_LEG,
        ),
        1000.0,
    )
    return link


async def spy(link: PbxLink, **changes: str) -> bool:
    values = {
        "spy_leg_id": "spy-c1-0a1b2c3d",
        "call_id": "c1",
        "supervisor_target": "PJSIP/sue",
        "agent_leg_id": AGENT_LEG,
        "mode": "whisper",
        **changes,
    }
    return await link.originate_spy_leg(**values)


async def test_an_agent_leg_without_a_live_channel_cannot_be_spied_on() -> None:
    with pytest.raises(OfferNotPlaced) as refused:
        await spy(link_knowing_the_agent_leg(), agent_leg_id="agentleg-c1-2")
    assert not refused.value.link_down


@pytest.mark.parametrize(
    ("field", "value"), [("supervisor_target", "sue"), ("mode", "qB"), ("spy_leg_id", "spy 1")]
)
async def test_invalid_values_are_refused_before_anything_is_sent(field: str, value: str) -> None:
    with pytest.raises(OfferNotPlaced, match=field) as refused:
        await spy(link_knowing_the_agent_leg(), **{field: value})
    assert not refused.value.link_down


async def test_a_link_out_of_step_places_no_supervisor_leg() -> None:
    with pytest.raises(OfferNotPlaced) as refused:
        await spy(link_knowing_the_agent_leg())
    assert refused.value.link_down
