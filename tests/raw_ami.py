"""A bare AMI client for tests: our codec over a TCP stream, every frame kept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.ami.codec import AmiCodec, encode_action
from callcenter.ami.message import Message


@dataclass
class Client:
    """Sends actions as they are given and records what comes back."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    messages: list[Message] = field(default_factory=list)
    codec: AmiCodec = field(default_factory=AmiCodec)
    ids: int = 0

    async def pump(self) -> None:
        while data := await self.reader.read(65536):
            self.messages.extend(f for f in self.codec.feed(data) if isinstance(f, Message))

    def send(self, action: str, **headers: str | list[str]) -> None:
        self.ids += 1
        pairs: list[tuple[str, str]] = []
        for key, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, item))
        self.writer.write(encode_action(action, f"t-{self.ids}", pairs))

    async def until(self, predicate: Callable[[Message], bool], timeout_s: float = 10) -> Message:
        for _ in range(int(timeout_s / 0.01)):
            for msg in self.messages:
                if predicate(msg):
                    return msg
            await asyncio.sleep(0.01)
        raise AssertionError("expected event did not arrive")
