"""Pushes a fresh wallboard snapshot about every second while any wallboard is open
(on any node, when the hub is shared).

Why push and not let the page poll: supervisors expect a refresh within 1-3 s and
one snapshot encoded once serves every open wallboard; nothing is computed when
no wallboard is watching.
"""

from __future__ import annotations

import asyncio

import structlog

from callcenter.ports import CallCenterDesk, DeskUnavailable
from callcenter.web.hub import Hub
from callcenter.web.snapshots import wallboard_message

log = structlog.get_logger(__name__)


async def push_wallboards(desk: CallCenterDesk, hub: Hub, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        if not hub.wallboard_count:
            continue
        try:
            board = desk.wallboard()
        except DeskUnavailable:
            continue  # no router on this node (starting, a standby): nothing to show
        except Exception:
            log.exception("wallboard snapshot failed")
            continue
        hub.to_wallboards(wallboard_message(board))
