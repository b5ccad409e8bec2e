"""The PBX simulator: an Asterisk 22 twin on the AMI wire, listening on loopback.

It plays the dialplan contract (``asterisk-config/extensions.conf``): callers enter
``callcenter-inbound``, raise ``UserEvent(CallCenterEnqueue)`` and wait in
``callcenter-wait``; an Originate of an agent's phone rings it and, on answer,
runs the Originate's Context: ``callcenter-connect`` bridges it to
``CC_CALLER_CHANNEL``, ``callcenter-conf`` joins the call's ConfBridge,
``callcenter-spy`` has a supervisor ChanSpy on an agent and
``callcenter-callback-out`` dials a callback's customer; a waiting caller may
press 1 for ``callcenter-callback``. Each step emits what a real Asterisk emits,
in the captures' order (the conformance tests hold it to that), to every
logged-in AMI session allowed to read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from callcenter.ami.message import Message
from callcenter.pbxsim import bridging, callback, callers, devices
from callcenter.pbxsim.acl import PERMIT_ALL, Acl
from callcenter.pbxsim.pbx import Pbx
from callcenter.pbxsim.phones import PhoneBehaviour, outside_dial_string
from callcenter.pbxsim.privileges import Privileges
from callcenter.pbxsim.session import AmiSession

log = structlog.get_logger(__name__)

DEFAULT_USERS: Mapping[str, str] = {"callcenter": "callcenter-secret"}
DEFAULT_DIDS: Mapping[str, str] = {"100": "sales", "200": "support"}
STOP_GRACE_S = 5.0


class PbxSimulator:
    """``users`` maps AMI user names to secrets; ``privileges`` optionally gives a user
    ``(read, write)`` classes as manager.conf spells them (``"call,user"``), others get
    ``all``; ``acls`` optionally gives a user manager.conf's ``deny``/``permit`` lines
    in order (``[("deny", "0.0.0.0/0.0.0.0"), ("permit", "127.0.0.1/32")]``), others
    may log in from anywhere. ``dids`` maps each DID of ``callcenter-inbound`` to its
    queue. ``write_timeout_s`` (manager.conf's ``writetimeout``; Asterisk's default is
    ``DEFAULT_WRITE_TIMEOUT_S``) drops a session that stops reading; None never does.
    ``after_bridge_goto``: ``callcenter-connect`` is the production one
    (config/asterisk/extensions.conf), whose ``GotoIf(CC_AFTER_BRIDGE)`` after
    ``Bridge()`` lets an agent follow its caller into the call's conference; False
    plays the captures' dialplan, where ``Hangup()`` follows ``Bridge()`` (what
    the conformance tests compare with). ``confirm_timeout_s``: how long each of
    the two tries of ``callcenter-connect``'s "press 1 to accept" waits (5 s in
    extensions.conf; shorter in tests). ``callback_ring_s``: how long
    ``callcenter-callback-out`` rings a callback's customer (30 s in
    extensions.conf); ``callback_talk_s``: how long that customer talks once
    connected, unless their number's behaviour says (``hangup_after_s``).
    ``recordings_dir``: where the dialplan's MixMonitor writes its WAV files (the
    spool directory as the service sees it, for
    ``/var/spool/asterisk/monitor/<name>.wav``, once the recorded channel hangs
    up; ``recording``); None writes no files."""

    def __init__(
        self,
        *,
        system_name: str = "pbx1",
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        dids: Mapping[str, str] | None = None,
        seed: int | None = None,
        privileges: Mapping[str, tuple[str, str]] | None = None,
        acls: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        write_timeout_s: float | None = None,
        after_bridge_goto: bool = True,
        confirm_timeout_s: float = 5.0,
        callback_ring_s: float = 30.0,
        callback_talk_s: float = 5.0,
        recordings_dir: Path | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.system_name = system_name
        #: AMI over TLS, as Asterisk's ``tlsenable`` (None: plain TCP)
        self.tls = tls
        self.host = host
        self.port = port
        self._users = dict(DEFAULT_USERS if users is None else users)
        self._privileges = {
            user: Privileges.of(read, write) for user, (read, write) in (privileges or {}).items()
        }
        self._acls = {user: Acl.of(rules) for user, rules in (acls or {}).items()}
        self._write_timeout_s = write_timeout_s
        self._pbx = Pbx(system_name, random.Random(seed), self._publish)
        self._pbx.queue_of_did = dict(DEFAULT_DIDS if dids is None else dids)
        self._pbx.after_bridge_goto = after_bridge_goto
        self._pbx.confirm_timeout_s = confirm_timeout_s
        self._pbx.callback_ring_s = callback_ring_s
        self._pbx.callback_talk_s = callback_talk_s
        self._pbx.recordings_dir = recordings_dir
        self._did_of_queue = {queue: did for did, queue in self._pbx.queue_of_did.items()}
        self._server: asyncio.Server | None = None
        self._sessions: set[AmiSession] = set()
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._started_at = 0.0
        self._reloaded_at = 0.0
        self._event_tap: Callable[[bytes], None] | None = None

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        """Listen (again, after ``stop``, on the same port): a freshly booted PBX."""
        self._started_at = self._reloaded_at = asyncio.get_running_loop().time()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("PBX simulator listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        """Shut down: sessions are closed (what is queued still goes out) and every
        call is forgotten without a word, so a later ``start`` boots a clean PBX.
        Recordings of calls that ended are written out first; a call still up
        leaves no file."""
        await self._go_down(abrupt=False)

    async def restart(self, down_s: float = 0.0) -> None:
        """Asterisk dies and comes back on the same host and port after ``down_s``.

        A crash says nothing: sessions are reset mid-stream, and calls, channels
        and their timers vanish without Hangup events; the ACD must notice by the
        broken connection and resynchronise. The new process has a new start time
        (FullyBooted's Uptime and LastReload count from it) and fresh counters, so
        channel names and Uniqueid sequence numbers repeat, as on a real restart.
        Configuration (users, DIDs, phones) survives."""
        await self._go_down(abrupt=True)
        if down_s > 0:
            await asyncio.sleep(down_s)
        await self.start()

    async def _go_down(self, *, abrupt: bool) -> None:
        self._pbx.crash()
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for session in list(self._sessions):
            if abrupt:
                session.abort()
            else:
                session.close()
        self._sessions.clear()
        await self._pbx.settle(STOP_GRACE_S)
        if self._session_tasks:
            await asyncio.wait(self._session_tasks, timeout=STOP_GRACE_S)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), STOP_GRACE_S)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(
            self._pbx,
            self._authenticate,
            self._uptime_s,
            reader,
            writer,
            write_timeout_s=self._write_timeout_s,
        )
        task = asyncio.current_task()
        self._sessions.add(session)
        if task is not None:
            self._session_tasks.add(task)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._session_tasks.discard(task)

    def tap(
        self,
        *,
        events: Callable[[bytes], None] | None = None,
        actions: Callable[[Message], None] | None = None,
    ) -> None:
        """Mirror the AMI traffic to an observer in this process, as a switch's
        port mirror would: every event frame as it is published (before any
        session's privileges filter it), every action as a session reads it.

        Why: a benchmark's stopwatch and a chaos test's ground truth need the
        switch's own timing and its own account of the legs it rang; a second
        AMI connection would double the events the simulator writes and add a
        socket hop to every timestamp. None stops that side of the mirror."""
        self._event_tap = events
        self._pbx.action_tap = actions

    def _publish(self, event_class: str, frame: bytes) -> None:
        if self._event_tap is not None:
            self._event_tap(frame)
        for session in self._sessions:
            session.deliver(event_class, frame)

    def _authenticate(self, username: str, secret: str, host: str) -> Privileges | None:
        expected = self._users.get(username)
        if expected is None or secret != expected:
            return None
        if not self._acls.get(username, PERMIT_ALL).allows(host):
            log.info("simulator: AMI login from a refused address", username=username, host=host)
            return None
        return self._privileges.get(username, Privileges())

    def _uptime_s(self) -> tuple[int, int]:
        """(seconds since start, seconds since the last reload) for FullyBooted."""
        now = asyncio.get_running_loop().time()
        return int(now - self._started_at), int(now - self._reloaded_at)

    def connected_sessions(self) -> int:
        """AMI connections open now (logged in or not)."""
        return len(self._sessions)

    # -- phones ---------------------------------------------------------------

    def add_phone(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        """An agent phone the PBX can ring, e.g. ``PJSIP/agent01`` or
        ``Local/1001@agent-sim``."""
        self._pbx.phones.set(dial_string, behaviour)

    def set_outside_behaviour(self, behaviour: PhoneBehaviour) -> None:
        """How every outside number (``Local/<number>@callcenter-outbound``, or a
        caller Redirected to ``callcenter-outbound``) answers, unless one was
        given its own with ``add_phone``."""
        self._pbx.phones.outside = behaviour

    def set_number_behaviour(self, number: str, behaviour: PhoneBehaviour) -> None:
        """How one outside number answers (a callback's customer, a transfer out):
        ``answer_after_s`` None never answers, ``busy``, ``congestion``,
        ``registered=False`` cannot be reached; ``hangup_after_s`` is how long
        they talk."""
        self._pbx.phones.set(outside_dial_string(number), behaviour)

    def set_phone_behaviour(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        """Change how a phone answers from its next offer on (e.g. it unregisters)."""
        self._pbx.phones.set(dial_string, behaviour)

    def register_phone(self, dial_string: str) -> None:
        """A SIP phone registers as this endpoint (``PJSIP/agent1001``): ContactStatus
        NonQualified then Reachable, DeviceStateChange NOT_INUSE; offers ring it."""
        devices.register(self._pbx, dial_string)

    def unregister_phone(self, dial_string: str) -> None:
        """The phone unregisters: DeviceStateChange UNAVAILABLE, ContactStatus Removed;
        offers to it fail at once with no channel (capture 12)."""
        devices.unregister(self._pbx, dial_string)

    # -- callers --------------------------------------------------------------

    def place_call(
        self,
        *,
        queue: str,
        caller_number: str,
        caller_name: str = "",
        account: str = "",
        patience_s: float | None = None,
        talk_s: float | None = None,
        callback_after_s: float | None = None,
        survey_key: str | None = None,
    ) -> str:
        """A customer dials the queue's DID and waits; returns the call's Linkedid.

        ``patience_s``: the caller hangs up if no agent is connected by then;
        ``talk_s``: the caller hangs up this long after being connected;
        ``callback_after_s``: the caller, if still waiting then, presses 1 for a
        callback (``request_callback``); ``survey_key``: asked for a score after
        the agent hangs up (a queue with a survey), the key the caller presses;
        None hangs up instead."""
        did = self._did_of_queue.get(queue)
        if did is None:
            raise ValueError(f"no DID routes to queue {queue!r}")
        call = callers.enter(
            self._pbx,
            did=did,
            queue=queue,
            caller_number=caller_number,
            caller_name=caller_name,
            account=account,
            patience_s=patience_s,
            talk_s=talk_s,
        )
        call.survey_key = survey_key
        if callback_after_s is not None:
            self._pbx.later(callback_after_s, callback.press_1, self._pbx, call)
        return call.linkedid

    def request_callback(self, linkedid: str) -> bool:
        """The waiting caller of that call presses 1: ``[callcenter-callback]``
        plays its prompt, raises ``UserEvent: CallCenterCallback`` with the
        caller's number and hangs up. False (nothing happens, or the key is
        ignored) unless the caller is waiting in ``callcenter-wait``."""
        call = self._pbx.calls.get(linkedid)
        return call is not None and callback.press_1(self._pbx, call)

    def hangup_caller(self, linkedid: str) -> None:
        """The customer of that call hangs up now (waiting, ringing or talking)."""
        call = self._pbx.calls.get(linkedid)
        if call is not None:
            bridging.caller_hangs_up(self._pbx, call)

    def active_calls(self) -> int:
        """Callers still in the system (waiting or talking)."""
        return sum(1 for call in self._pbx.calls.values() if not call.gone)
