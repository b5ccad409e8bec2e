"""A thin asyncio shell around the AMI codec and correlator: one link to one PBX.

What it adds to the sans-I/O core, and why:

- It reconnects by itself, with exponential backoff and jitter, so that a restarted
  Asterisk is not hammered by every client at once; a refused login is retried a
  bounded number of times (a wrong secret will not fix itself) and then reported.
- A ping watchdog: a half-open TCP link looks alive forever, so a Ping is sent
  every ``ping_interval_s`` and a missing reply within that interval drops the
  link. (panoramisk never checks its ping replies.)
- Actions pending when the link drops fail with ``AmiConnectionLost`` and are never
  re-sent: an Originate whose response was lost may have rung the agent already.
  The service resyncs from ``on_connected`` instead.
- ``on_event`` is called in arrival order; whatever it raises is logged and the
  link stays up (panoramisk closes the transport). Keep it fast: Asterisk drops a
  client that reads slowly.

The secret only ever goes into the Login frame; no log line carries it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import ssl
from collections.abc import Awaitable, Callable

import structlog

from callcenter.ami.codec import (
    AmiCodec,
    Frame,
    FrameFilter,
    HeaderSource,
    RemoteProtocolError,
    encode_action,
)
from callcenter.ami.correlator import ActionResult, PendingActions
from callcenter.ami.message import Banner, MalformedFrame, Message
from callcenter.settings import PbxSettings

log = structlog.get_logger(__name__)

READ_CHUNK_BYTES = 65536


class AmiConnectionLost(ConnectionError):
    """The link is down: the action was not sent."""


class AmiResponseLost(AmiConnectionLost):
    """The action was written (at least in part) but the link dropped before its
    answer: it may or may not have taken effect, and it is never re-sent."""


class AmiLoginFailed(Exception):
    """Asterisk refused the username/secret as many times as we were willing to try."""


class _LoginRefused(Exception):
    pass


EventCallback = Callable[[Message], None]
ConnectedCallback = Callable[[], Awaitable[None]]
DisconnectedCallback = Callable[[], None]
ResultCallback = Callable[[ActionResult], None]


class AmiClient:
    """One AMI link to the PBX described by ``settings``."""

    def __init__(
        self,
        settings: PbxSettings,
        on_event: EventCallback,
        on_connected: ConnectedCallback | None = None,
        *,
        on_disconnected: DisconnectedCallback | None = None,
        on_malformed: Callable[[MalformedFrame], None] | None = None,
        wanted: FrameFilter | None = None,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_login_attempts: int = 5,
        connect_timeout_s: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        #: checks the certificate and the host name (a CA file that cannot be read
        #: fails here, at start, not at every reconnect)
        self._tls = (
            ssl.create_default_context(
                cafile=str(settings.tls_ca_file) if settings.tls_ca_file else None
            )
            if settings.tls
            else None
        )
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_malformed = on_malformed
        self._wanted = wanted
        self._result_callbacks: dict[str, ResultCallback] = {}
        self._drop_requested: asyncio.Event | None = None
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_login_attempts = max_login_attempts
        # Asterisk sends its banner at once: a link that stays silent longer than
        # two ping intervals is as dead as one whose pings go unanswered.
        self._connect_timeout_s = connect_timeout_s or min(5.0, 2 * settings.ping_interval_s)
        self._rng = rng or random.Random()
        self._action_prefix = f"cc-{secrets.token_hex(4)}"
        self._action_counter = 0
        self._pending = PendingActions()
        self._futures: dict[str, asyncio.Future[ActionResult]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._connected = False
        self._changed = asyncio.Event()
        self._fatal: AmiLoginFailed | None = None
        self._session_logged_in = False
        self._task: asyncio.Task[None] | None = None
        self._helpers: set[asyncio.Task[None]] = set()

    # -- public API -----------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._task is None or self._task.done():
            self._fatal = None
            self._task = asyncio.create_task(self._run(), name=f"ami-{self._settings.name}")

    async def stop(self) -> None:
        for task in [*self._helpers, *([self._task] if self._task else [])]:
            task.cancel()
        for task in [*self._helpers, *([self._task] if self._task else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    async def wait_connected(self, timeout: float) -> None:
        """Wait until logged in; TimeoutError if not within ``timeout`` seconds,
        AmiLoginFailed once the client gave up on a refused login."""
        async with asyncio.timeout(timeout):
            while not self._connected:
                if self._fatal is not None:
                    raise self._fatal
                await self._changed.wait()

    def next_action_id(self) -> str:
        """Reserve an ActionID, for callers that must announce an action (to the
        call tracker) before they send it."""
        return self._next_action_id()

    async def send_action(
        self,
        action: str,
        headers: HeaderSource = (),
        *,
        timeout: float = 10,
        action_id: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> ActionResult:
        """Send an action and wait for its answer (with its EventList, if any).

        Raises AmiConnectionLost if the link is down (not sent), AmiResponseLost if
        it drops after sending, TimeoutError if Asterisk does not answer in
        ``timeout`` seconds, LocalProtocolError if a value would inject lines.
        Never re-sent. ``on_result`` is called by the reader the moment the answer
        is complete, before any later event is passed on: the point in the event
        stream where, say, a CoreShowChannels list was true.
        """
        if not self._connected:
            raise AmiConnectionLost(f"AMI link to {self._settings.name} is down")
        return await self._request(action, headers, timeout, action_id, on_result)

    def drop_link(self, why: str) -> None:
        """Close the current connection and reconnect (with a resync): for a reader
        that fell behind and had to discard events."""
        if self._drop_requested is not None and not self._drop_requested.is_set():
            log.error("dropping the AMI link", pbx=self._settings.name, why=why)
            self._drop_requested.set()

    # -- connection loop ------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        refusals = 0
        while True:
            self._session_logged_in = False
            try:
                await self._session()
            except _LoginRefused as exc:
                refusals += 1
                self._log_refusal(str(exc), refusals)
                if refusals >= self._max_login_attempts:
                    self._fatal = AmiLoginFailed(
                        f"AMI login to {self._settings.name} refused {refusals} times"
                    )
                    self._notify()
                    return
            except (OSError, RemoteProtocolError) as exc:
                log.warning(
                    "AMI link down",
                    pbx=self._settings.name,
                    host=self._settings.host,
                    port=self._settings.port,
                    error=f"{type(exc).__name__}: {exc}",
                )
            except Exception:
                log.exception("AMI session failed; reconnecting", pbx=self._settings.name)
            if self._session_logged_in:
                failures = refusals = 0
            delay = self._backoff(failures)
            failures += 1
            await asyncio.sleep(delay)

    def _backoff(self, failures: int) -> float:
        """Exponential, capped, with 'equal jitter' so clients spread out."""
        delay = min(self._backoff_max_s, self._backoff_initial_s * 2.0 ** min(failures, 30))
        return delay * (0.5 + self._rng.random() / 2)

    def _log_refusal(self, message: str, refusals: int) -> None:
        log.error(
            "AMI login refused; check the [[pbx]] username and secret",
            pbx=self._settings.name,
            host=self._settings.host,
            port=self._settings.port,
            username=self._settings.username,
            asterisk_says=message,
            attempt=refusals,
            max_attempts=self._max_login_attempts,
        )

    async def _session(self) -> None:
        """One TCP connection: banner, login, then events until the link is lost."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._settings.host, self._settings.port, ssl=self._tls),
            self._connect_timeout_s,
        )
        banner: asyncio.Future[Banner] = asyncio.get_running_loop().create_future()
        self._writer = writer
        reader_task = asyncio.create_task(self._read_loop(reader, banner))
        try:
            greeting = await asyncio.wait_for(asyncio.shield(banner), self._connect_timeout_s)
            await self._login()
            self._session_logged_in = True
            self._set_connected(True)
            log.info("AMI connected", pbx=self._settings.name, ami_version=greeting.version)
            self._run_on_connected()
            await self._watch(reader_task)
        finally:
            was_connected = self._connected
            self._set_connected(False)
            self._writer = None
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._fail_pending()
            if not banner.done():
                banner.cancel()
            elif not banner.cancelled():
                banner.exception()  # seen: a link that died before its banner
            if was_connected and self._on_disconnected is not None:
                self._on_disconnected()

    async def _login(self) -> None:
        secret = self._settings.secret.get_secret_value()
        result = await self._request(
            "Login",
            [("Username", self._settings.username), ("Secret", secret)],
            self._connect_timeout_s,
        )
        if not result.ok:
            raise _LoginRefused(result.message or "refused")

    async def _watch(self, reader_task: asyncio.Task[None]) -> None:
        """Return when the link is lost: the reader ended, or a Ping went unanswered."""
        interval = self._settings.ping_interval_s
        dropped = self._drop_requested = asyncio.Event()
        drop_task = asyncio.create_task(dropped.wait())
        try:
            await self._watch_until(reader_task, drop_task, interval)
        finally:
            drop_task.cancel()
            self._drop_requested = None

    async def _watch_until(
        self, reader_task: asyncio.Task[None], drop_task: asyncio.Task[bool], interval: float
    ) -> None:
        while True:
            done, _ = await asyncio.wait(
                {reader_task, drop_task}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
            )
            if drop_task in done:
                return
            if done:
                exc = None if reader_task.cancelled() else reader_task.exception()
                if exc is not None:
                    raise exc
                log.warning("AMI link closed by the PBX", pbx=self._settings.name)
                return
            try:
                ping = asyncio.create_task(self._request("Ping", (), interval))
                await asyncio.wait({ping, drop_task}, return_when=asyncio.FIRST_COMPLETED)
                if not ping.done():
                    ping.cancel()
                    return
                ping.result()
            except TimeoutError:
                log.warning(
                    "AMI ping unanswered; dropping the link",
                    pbx=self._settings.name,
                    ping_interval_s=interval,
                )
                return
            except AmiConnectionLost:
                continue  # the reader ended too; report why on the next turn

    def _run_on_connected(self) -> None:
        callback = self._on_connected
        if callback is None:
            return

        async def run() -> None:
            try:
                await callback()
            except AmiConnectionLost:
                log.warning("AMI link lost during on_connected", pbx=self._settings.name)
            except Exception:
                log.exception("on_connected failed", pbx=self._settings.name)

        task = asyncio.create_task(run())
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    def _set_connected(self, value: bool) -> None:
        if self._connected != value:
            self._connected = value
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- reading --------------------------------------------------------------

    async def _read_loop(
        self, reader: asyncio.StreamReader, banner: asyncio.Future[Banner]
    ) -> None:
        codec = AmiCodec(expect_banner=True, wanted=self._wanted)
        try:
            while data := await reader.read(READ_CHUNK_BYTES):
                for frame in codec.feed(data):
                    self._dispatch(frame, banner)
        finally:
            if not banner.done():
                banner.set_exception(AmiConnectionLost("closed before the AMI banner"))
            self._fail_pending()

    def _dispatch(self, frame: Frame, banner: asyncio.Future[Banner]) -> None:
        if isinstance(frame, Banner):
            if not banner.done():
                banner.set_result(frame)
        elif isinstance(frame, MalformedFrame):
            log.warning(
                "malformed AMI frame skipped",
                pbx=self._settings.name,
                reason=frame.reason,
                size=len(frame.raw),
            )
            if self._on_malformed is not None:
                self._on_malformed(frame)
        else:
            self._message(frame)

    def _message(self, msg: Message) -> None:
        result = self._pending.feed(msg)
        if isinstance(result, ActionResult):
            callback = self._result_callbacks.pop(result.action_id, None)
            if callback is not None:
                try:
                    callback(result)
                except Exception:
                    log.exception("AMI result callback failed", pbx=self._settings.name)
            future = self._futures.pop(result.action_id, None)
            if future is not None and not future.done():
                future.set_result(result)
        elif result is None and msg.event is not None:
            try:
                self._on_event(msg)
            except Exception:
                log.exception(
                    "AMI event handler failed", pbx=self._settings.name, ami_event=msg.event
                )

    # -- writing --------------------------------------------------------------

    def _next_action_id(self) -> str:
        self._action_counter += 1
        return f"{self._action_prefix}-{self._action_counter}"

    async def _request(
        self,
        action: str,
        headers: HeaderSource,
        timeout: float,
        action_id: str | None = None,
        on_result: ResultCallback | None = None,
    ) -> ActionResult:
        writer = self._writer
        if writer is None:
            raise AmiConnectionLost(f"AMI link to {self._settings.name} is down")
        action_id = action_id or self._next_action_id()
        data = encode_action(action, action_id, headers)
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        self._pending.expect(action_id)
        self._futures[action_id] = future
        if on_result is not None:
            self._result_callbacks[action_id] = on_result
        try:
            writer.write(data)
            await writer.drain()
            return await asyncio.wait_for(future, timeout)
        except (TimeoutError, AmiConnectionLost):
            raise  # TimeoutError is an OSError: keep "no answer" apart from "link lost"
        except OSError as exc:
            raise AmiResponseLost(f"AMI link to {self._settings.name} dropped") from exc
        finally:
            self._futures.pop(action_id, None)
            self._result_callbacks.pop(action_id, None)
            self._pending.forget(action_id)

    def _fail_pending(self) -> None:
        for action_id in self._pending.fail_all():
            future = self._futures.pop(action_id, None)
            if future is not None and not future.done():
                future.set_exception(
                    AmiResponseLost(f"AMI link to {self._settings.name} lost; not re-sent")
                )
