"""manager.conf's per-user ``deny``/``permit`` lines: a login from an address the
user may not come from is refused exactly like a wrong secret (Asterisk answers
``Authentication failed`` and closes), and the rules decide in order, last match
winning, as Asterisk's ``ast_apply_ha`` does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from callcenter.pbxsim import PbxSimulator
from callcenter.pbxsim.acl import Acl
from callcenter.pbxsim.probe import AmiProbe

LOCAL_ONLY = [("deny", "0.0.0.0/0.0.0.0"), ("permit", "127.0.0.1/255.255.255.255")]
LAN_ONLY = [("deny", "0.0.0.0/0.0.0.0"), ("permit", "10.0.0.0/255.0.0.0")]


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(
        port=0,
        users={"callcenter": "s1", "remote": "s2", "open": "s3"},
        acls={"callcenter": LOCAL_ONLY, "remote": LAN_ONLY},
    )
    await simulator.start()
    yield simulator
    await simulator.stop()


async def test_a_user_permitted_from_loopback_logs_in_from_loopback(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    answer = await probe.login("callcenter", "s1")
    assert (answer["Response"], answer["Message"]) == ("Success", "Authentication accepted")
    await probe.close()


async def test_a_login_from_a_refused_address_fails_like_a_wrong_secret(
    sim: PbxSimulator,
) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    answer = await probe.login("remote", "s2")
    assert [*answer] == [
        ("Response", "Error"),
        ("ActionID", answer.action_id or ""),
        ("Message", "Authentication failed"),
    ]
    await probe.wait_closed()
    assert probe.closed
    assert probe.events() == []
    await probe.close()


async def test_a_user_without_rules_may_log_in_from_anywhere(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    assert (await probe.login("open", "s3"))["Response"] == "Success"
    await probe.close()


@pytest.mark.parametrize(
    ("rules", "host", "allowed"),
    [
        ([], "192.0.2.7", True),
        (LOCAL_ONLY, "127.0.0.1", True),
        (LOCAL_ONLY, "127.0.0.2", False),
        (LOCAL_ONLY, "::ffff:127.0.0.1", True),
        (LAN_ONLY, "10.1.2.3", True),
        ([("permit", "10.0.0.0/8"), ("deny", "10.9.0.0/16")], "10.9.1.1", False),
        ([("deny", "10.9.0.0/16")], "10.8.1.1", True),
        ([("deny", "0.0.0.0/0")], "not-an-address", False),
    ],
)
def test_rules_apply_in_order_and_the_last_match_decides(
    rules: list[tuple[str, str]], host: str, allowed: bool
) -> None:
    assert Acl.of(rules).allows(host) is allowed


def test_a_rule_is_permit_or_deny() -> None:
    with pytest.raises(ValueError, match="permit or deny"):
        Acl.of([("allow", "0.0.0.0/0")])
