"""The leader's address in Redis: written while it leads, read by the others,
gone once it stops renewing; an unusable ``advertise_url`` is refused at start."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import structlog
from pydantic import ValidationError

from callcenter.leader_address import LeaderAddress, leader_key
from callcenter.settings import Settings
from tests.conftest import eventually, free_port
from tests.integration.test_redis_fanout import redis_url  # noqa: F401 (fixture)


async def test_the_others_read_the_leaders_url_until_it_stops_renewing(
    redis_url: str,  # noqa: F811
) -> None:
    key = leader_key(f"callcenter:test:{uuid.uuid4().hex}")
    leader = LeaderAddress(redis_url, key, ttl_s=0.6)
    other = LeaderAddress(redis_url, key, cache_s=0)
    try:
        assert await other.leader_url() is None
        advertising = asyncio.create_task(leader.advertise("http://10.0.0.5:8000"))

        async def known() -> bool:
            return await other.leader_url() == "http://10.0.0.5:8000"

        await eventually(known, "the leader's URL readable")
        await asyncio.sleep(1.0)  # longer than the TTL: renewed meanwhile
        assert await other.leader_url() == "http://10.0.0.5:8000"
        advertising.cancel()
        await asyncio.gather(advertising, return_exceptions=True)

        async def expired() -> bool:
            return await other.leader_url() is None

        await eventually(expired, "the address gone after its TTL", timeout_s=5)
    finally:
        await leader.aclose()
        await other.aclose()


async def test_a_cached_address_is_read_again_once_forgotten(redis_url: str) -> None:  # noqa: F811
    key = leader_key(f"callcenter:test:{uuid.uuid4().hex}")
    writer = LeaderAddress(redis_url, key)
    reader = LeaderAddress(redis_url, key, cache_s=3600)
    try:
        assert await reader.leader_url() is None
        advertising = asyncio.create_task(writer.advertise("http://10.0.0.6:8000"))
        await asyncio.sleep(0.3)
        assert await reader.leader_url() is None, "cached"
        reader.forget()
        assert await reader.leader_url() == "http://10.0.0.6:8000"
        advertising.cancel()
        await asyncio.gather(advertising, return_exceptions=True)
    finally:
        await writer.aclose()
        await reader.aclose()


async def test_with_redis_down_no_leader_is_known_and_the_password_is_never_logged() -> None:
    address = LeaderAddress(f"redis://:hunter2@127.0.0.1:{free_port()}/0", "k", cache_s=0)
    with structlog.testing.capture_logs() as logs:
        assert await address.leader_url() is None
        assert await address.leader_url() is None
    await address.aclose()
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert len(warnings) == 1, "said once, not at every read"
    assert "hunter2" not in repr(logs)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://10.0.0.5", "http:// or https://"),
        ("http://user:pw@10.0.0.5:8000", "credentials"),
        ("http://10.0.0.5:8000/api", "path"),
        ("http://10.0.0.5:8000/?x=1", "query"),
    ],
)
def test_an_unusable_advertise_url_is_refused(url: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(advertise_url=url)
    assert why in str(refused.value)
    assert Settings(advertise_url="http://10.0.0.5:8000/").advertise_url == "http://10.0.0.5:8000"
