"""How uvicorn serves the websockets: one place for `callcenter serve`, the
benchmarks and the tests, so they all measure and test the same server."""

from __future__ import annotations

from typing import Any

#: How the server runs the agents' and supervisors' websockets.
#: - No permessage-deflate: a pop is a few kilobytes, and per-connection
#:   compression state costs memory on thousands of sockets and lets a client
#:   send a small frame that inflates into a huge one.
#: - Protocol pings every 20 s, and a peer that does not answer in 20 s is
#:   dropped: a laptop that went to sleep is noticed even when nothing is pushed.
#: - Frames over 64 KiB are refused: the pages only send pings.
WEBSOCKET_OPTIONS: dict[str, Any] = {
    "ws_per_message_deflate": False,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "ws_max_size": 64 * 1024,
}
