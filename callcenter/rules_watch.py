"""Follow the published routing rules: a new version goes live without a restart.

Admins publish a version (``callcenter rules publish``, later the admin page); the
running service notices within ``rules_poll_s`` and hands it to the router, which
re-evaluates the callers already waiting. A version that would strand callers
(it removes a queue they are in) is refused and logged, and the live rules stay.
"""

from __future__ import annotations

import asyncio

import structlog

from callcenter.db.routing_rules import live_rules_or_default
from callcenter.db.session import Sessions
from callcenter.orchestration.orchestrator import Orchestrator
from routing import RulesRefused

log = structlog.get_logger(__name__)


async def follow_published_rules(
    sessions: Sessions, orchestrator: Orchestrator, poll_s: float
) -> None:
    refused: int | None = None
    while True:
        await asyncio.sleep(poll_s)
        try:
            rules, version = await live_rules_or_default(sessions)
        except Exception:
            log.exception("reading the published routing rules failed")
            continue
        if version is None or version in (orchestrator.rules_version, refused):
            continue
        try:
            orchestrator.apply_rules(rules, version)
        except RulesRefused as exc:
            refused = version
            log.error("published routing rules refused", version=version, reason=str(exc))
