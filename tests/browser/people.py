"""What the browser tests share: a service whose simulated customers call in
and talk for two minutes (so a test, not the caller, ends the call), and rule
changes published before it starts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from callcenter.db.routing_rules import live_rules_or_default, publish_rules
from callcenter.db.session import make_engine, make_session_factory
from callcenter.settings import Settings
from tests.conftest import demo_settings

T = TypeVar("T")


def off_the_loop(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work`` on a thread of its own: Playwright's sync API keeps a loop
    running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work()).result()


def change_every_queue(db_url: str, **changes: Any) -> None:
    """Publish the live rules with ``changes`` on every queue."""

    async def run() -> None:
        engine = make_engine(db_url)
        sessions = make_session_factory(engine)
        try:
            rules, _ = await live_rules_or_default(sessions)
            queues = [q.model_copy(update=changes) for q in rules.queues]
            changed = rules.model_copy(update={"queues": queues})
            await publish_rules(
                sessions, type(rules).model_validate(changed.model_dump()), author="test"
            )
        finally:
            await engine.dispose()

    off_the_loop(run)


def callers_for_people(db_url: str, **overrides: Any) -> Settings:
    """Customers call every half second, the people's softphones answer after a
    second, callers talk two minutes and wait up to ten."""
    simulator: dict[str, Any] = {
        "callers": True,
        "call_interval_s": 0.5,
        "person_answer_delay_s": 1.0,
        "talk_time_s": 120.0,
        "patience_s": 600.0,
        **overrides,
    }
    return demo_settings(db_url, **simulator)
