"""The asyncio AMI client against a small AMI server on loopback that speaks with the
bytes of real Asterisk 22 captures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from callcenter.ami.client import AmiClient, AmiConnectionLost, AmiLoginFailed
from callcenter.ami.codec import AmiCodec, encode_frame
from callcenter.ami.message import Message
from callcenter.replay import split_connections
from callcenter.settings import PbxSettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
SECRET = "the-right-secret"
ODD_CHUNKS = [1, 2, 3, 5, 7, 11, 13, 17, 64, 1, 257, 4, 1021]

Handler = Callable[[Message, asyncio.StreamWriter], Awaitable[bool]]


def _capture_frames(name: str) -> list[Message]:
    stream = split_connections((FIXTURES / name).read_bytes())[0]
    return [f for f in AmiCodec().feed(stream) if isinstance(f, Message)]


def _capture_body(name: str) -> bytes:
    """The capture's bytes after the banner (what follows a successful login)."""
    stream = split_connections((FIXTURES / name).read_bytes())[0]
    return stream[stream.index(b"\r\n") + 2 :]


async def _write_in_odd_chunks(writer: asyncio.StreamWriter, data: bytes) -> None:
    pos, turn = 0, 0
    while pos < len(data):
        size = ODD_CHUNKS[turn % len(ODD_CHUNKS)]
        writer.write(data[pos : pos + size])
        await writer.drain()
        pos += size
        turn += 1


class FakeAsterisk:
    """Answers Login and Ping like Asterisk; anything else goes to ``handler``."""

    def __init__(self, *, answer_pings: bool = True) -> None:
        self.answer_pings = answer_pings
        self.handler: Handler | None = None
        self.after_login: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None
        self.actions: list[Message] = []
        self.connections = 0
        self.logins = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_links(self) -> None:
        for writer in self._writers:
            writer.close()

    def of_action(self, name: str) -> list[Message]:
        return [a for a in self.actions if a.action == name]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        writer.write(BANNER)
        codec = AmiCodec(expect_banner=False)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                for frame in codec.feed(data):
                    if isinstance(frame, Message) and not await self._answer(frame, writer):
                        writer.close()
                        return

    async def _answer(self, action: Message, writer: asyncio.StreamWriter) -> bool:
        self.actions.append(action)
        aid = action.action_id or ""
        if action.action == "Login":
            if action.get("Secret") != SECRET:
                writer.write(_response(aid, "Error", "Authentication failed"))
                return True
            self.logins += 1
            writer.write(_response(aid, "Success", "Authentication accepted"))
            if self.after_login is not None:
                await self.after_login(writer)
        elif action.action == "Ping":
            if self.answer_pings:
                writer.write(
                    encode_frame([("Response", "Success"), ("ActionID", aid), ("Ping", "Pong")])
                )
        elif self.handler is not None:
            return await self.handler(action, writer)
        await writer.drain()
        return True


def _response(action_id: str, response: str, message: str) -> bytes:
    return encode_frame([("Response", response), ("ActionID", action_id), ("Message", message)])


def _settings(server: FakeAsterisk, *, secret: str = SECRET, ping_s: float = 5.0) -> PbxSettings:
    return PbxSettings(
        name="pbx1",
        host="127.0.0.1",
        port=server.port,
        username="callcenter",
        secret=SecretStr(secret),
        ping_interval_s=ping_s,
    )


@pytest.fixture
async def server() -> AsyncIterator[FakeAsterisk]:
    fake = FakeAsterisk()
    await fake.start()
    yield fake
    await fake.close()


@contextlib.asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[AmiClient]:
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def _client(
    settings: PbxSettings,
    on_event: Callable[[Message], None],
    *,
    on_connected: Callable[[], Awaitable[None]] | None = None,
    max_login_attempts: int = 5,
) -> AmiClient:
    """A client whose reconnect backoff is short, so tests do not wait on it."""
    return AmiClient(
        settings,
        on_event,
        on_connected,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        max_login_attempts=max_login_attempts,
    )


async def test_client_logs_in_and_receives_a_capture_in_order_across_odd_reads(
    server: FakeAsterisk,
) -> None:
    async def stream_capture(writer: asyncio.StreamWriter) -> None:
        await _write_in_odd_chunks(writer, _capture_body("03-agent-busy.ami"))

    server.after_login = stream_capture
    received: list[Message] = []
    async with running(_client(_settings(server), received.append)) as client:
        await client.wait_connected(5)
        expected = [m for m in _capture_frames("03-agent-busy.ami") if m.event is not None]
        await _eventually(lambda: len(received) >= len(expected))
    assert received == expected
    login = server.of_action("Login")[0]
    assert (login["Username"], login["Secret"]) == ("callcenter", SECRET)
    names = {m.get("CallerIDName") for m in received}
    assert "Chloé Dubois" in names


async def test_an_event_list_action_returns_its_items_and_they_are_not_events(
    server: FakeAsterisk,
) -> None:
    frames = _capture_frames("10-resync-snapshot.ami")
    listing = [m for m in frames if m.action_id == "cc-5"]

    async def answer(action: Message, writer: asyncio.StreamWriter) -> bool:
        if action.action == "CoreShowChannels":
            own_id = action.action_id or ""
            renamed = [
                Message.of(tuple((k, own_id if k == "ActionID" else v) for k, v in m))
                for m in listing
            ]
            data = b"".join(encode_frame(m.headers) for m in renamed)
            await _write_in_odd_chunks(writer, data)
        return True

    server.handler = answer
    received: list[Message] = []
    async with running(_client(_settings(server), received.append)) as client:
        await client.wait_connected(5)
        result = await client.send_action("CoreShowChannels", timeout=5)
    assert result.ok
    assert result.complete is not None
    assert len(result.events) == int(result.complete["ListItems"]) == 10
    assert not [m for m in received if m.event in ("CoreShowChannel", "CoreShowChannelsComplete")]


async def test_action_ids_are_unique_per_client(server: FakeAsterisk) -> None:
    async def answer(action: Message, writer: asyncio.StreamWriter) -> bool:
        writer.write(_response(action.action_id or "", "Success", "ok"))
        return True

    server.handler = answer
    async with running(_client(_settings(server), lambda m: None)) as client:
        await client.wait_connected(5)
        await asyncio.gather(*(client.send_action("Command", timeout=5) for _ in range(5)))
    ids = [a.action_id for a in server.actions]
    assert len(ids) == len(set(ids)) == 6


async def test_a_pending_originate_fails_on_link_loss_and_is_never_resent(
    server: FakeAsterisk,
) -> None:
    async def drop_on_originate(action: Message, writer: asyncio.StreamWriter) -> bool:
        return action.action != "Originate"  # close the link instead of answering

    server.handler = drop_on_originate
    connects = 0

    async def on_connected() -> None:
        nonlocal connects
        connects += 1

    client = _client(_settings(server), lambda m: None, on_connected=on_connected)
    async with running(client):
        await client.wait_connected(5)
        with pytest.raises(AmiConnectionLost):
            await client.send_action("Originate", {"Channel": "Local/1001@agent-sim"}, timeout=5)
        await _eventually(lambda: server.logins == 2 and client.connected and connects == 2)
        await client.send_action("Ping", timeout=5)
    assert len(server.of_action("Originate")) == 1


async def test_client_reconnects_after_the_pbx_closes_the_link(server: FakeAsterisk) -> None:
    received: list[Message] = []

    async def greet(writer: asyncio.StreamWriter) -> None:
        writer.write(encode_frame([("Event", "FullyBooted"), ("Status", "Fully Booted")]))

    server.after_login = greet
    async with running(_client(_settings(server), received.append)) as client:
        await client.wait_connected(5)
        server.drop_links()
        await _eventually(lambda: server.connections >= 2 and client.connected)
        await _eventually(lambda: len(received) == 2)
    assert [m.event for m in received] == ["FullyBooted", "FullyBooted"]


async def test_send_action_while_down_fails_at_once(server: FakeAsterisk) -> None:
    client = _client(_settings(server), lambda m: None)
    with pytest.raises(AmiConnectionLost):
        await client.send_action("Ping")


async def test_an_unanswered_ping_drops_the_link_and_the_client_reconnects() -> None:
    silent = FakeAsterisk(answer_pings=False)
    await silent.start()
    try:
        client = _client(_settings(silent, ping_s=0.05), lambda m: None)
        async with running(client):
            await client.wait_connected(5)
            await _eventually(lambda: silent.logins >= 2)
        assert len(silent.of_action("Ping")) >= 1
    finally:
        await silent.close()


async def test_a_failing_event_handler_keeps_the_link_up(server: FakeAsterisk) -> None:
    async def two_events(writer: asyncio.StreamWriter) -> None:
        writer.write(encode_frame([("Event", "Boom")]) + encode_frame([("Event", "Fine")]))

    server.after_login = two_events
    seen: list[str] = []

    def on_event(msg: Message) -> None:
        seen.append(msg.event or "")
        if msg.event == "Boom":
            raise RuntimeError("handler bug")

    async with running(_client(_settings(server), on_event)) as client:
        await client.wait_connected(5)
        await _eventually(lambda: seen == ["Boom", "Fine"])
        result = await client.send_action("Ping", timeout=5)
        assert result.ok and client.connected
    assert server.connections == 1


async def test_a_malformed_frame_is_skipped_and_the_next_event_arrives(
    server: FakeAsterisk,
) -> None:
    async def garbage_then_event(writer: asyncio.StreamWriter) -> None:
        writer.write(b"garbage without a colon\r\n\r\n" + encode_frame([("Event", "After")]))

    server.after_login = garbage_then_event
    seen: list[Message] = []
    async with running(_client(_settings(server), seen.append)) as client:
        await client.wait_connected(5)
        await _eventually(lambda: len(seen) == 1)
        assert client.connected
    assert seen[0].event == "After"


async def test_a_wrong_secret_gives_up_after_bounded_retries_and_is_never_logged(
    server: FakeAsterisk,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "wrong-secret-5f3a9c"
    caplog.set_level(logging.DEBUG)
    client = _client(_settings(server, secret=wrong), lambda m: None, max_login_attempts=3)
    with structlog.testing.capture_logs() as logs:
        async with running(client):
            with pytest.raises(AmiLoginFailed):
                await client.wait_connected(5)
    assert len(server.of_action("Login")) == 3
    assert not client.connected
    out, err = capsys.readouterr()
    everything = "\n".join([repr(logs), caplog.text, out, err])
    assert wrong not in everything
    assert "login refused" in everything
    assert "callcenter" in everything  # the username is named, so the line is useful
