"""One AMI client connection to the simulator: login, then actions and events.

Error texts are Asterisk 22's own (capture 11-errors), so a client's error
handling is exercised as it would be against a real PBX.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from callcenter.ami.codec import AmiCodec, AmiProtocolError, encode_frame
from callcenter.ami.message import MalformedFrame, Message
from callcenter.pbxsim.wire import Headers, response

if TYPE_CHECKING:
    from callcenter.pbxsim.simulator import PbxSimulator

log = structlog.get_logger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
READ_CHUNK = 65536


class AmiSession:
    def __init__(
        self, sim: PbxSimulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._sim = sim
        self._reader = reader
        self._writer = writer
        self.username: str | None = None
        self._codec = AmiCodec(expect_banner=False)

    @property
    def logged_in(self) -> bool:
        return self.username is not None

    def send(self, headers: Headers) -> None:
        self.send_bytes(encode_frame(headers))

    def send_bytes(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()

    async def run(self) -> None:
        self.send_bytes(BANNER)
        try:
            while True:
                data = await self._reader.read(READ_CHUNK)
                if not data:
                    return
                for frame in self._codec.feed(data):
                    if isinstance(frame, Message):
                        self._handle(frame)
                    elif isinstance(frame, MalformedFrame):
                        log.info("simulator: malformed action skipped", reason=frame.reason)
        except (ConnectionError, AmiProtocolError):
            return
        finally:
            self.close()

    def _handle(self, msg: Message) -> None:
        action = (msg.action or "").lower()
        action_id = msg.action_id
        if action == "login":
            self._login(msg)
            return
        if not self.logged_in:
            self.send(response(action_id, "Error", "Authentication Required"))
            return
        handler = self._handlers().get(action)
        if handler is None:
            self.send(
                response(
                    action_id,
                    "Error",
                    f"Invalid/unknown command: {msg.action}. "
                    "Use Action: ListCommands to show available commands.",
                )
            )
            return
        handler(msg)

    def _handlers(self) -> dict[str, Callable[[Message], None]]:
        sim = self._sim
        return {
            "logoff": self._logoff,
            "ping": self._ping,
            "originate": lambda m: sim.originate_action(self, m),
            "hangup": lambda m: sim.hangup_action(self, m),
            "redirect": lambda m: sim.redirect_action(self, m),
            "coreshowchannels": lambda m: sim.core_show_channels_action(self, m),
            "userevent": lambda m: sim.user_event_action(self, m),
        }

    def _login(self, msg: Message) -> None:
        username = msg.get("Username") or ""
        if self._sim.check_secret(username, msg.get("Secret") or ""):
            self.username = username
            self.send(response(msg.action_id, "Success", "Authentication accepted"))
            self.send(self._sim.fully_booted())
        else:
            self.send(response(msg.action_id, "Error", "Authentication failed"))

    def _logoff(self, msg: Message) -> None:
        self.send(response(msg.action_id, "Goodbye", "Thanks for all the fish."))
        self.close()

    def _ping(self, msg: Message) -> None:
        headers = response(msg.action_id, "Success")
        headers += [("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]
        self.send(headers)
