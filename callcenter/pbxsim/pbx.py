"""The simulated switch: live channels, calls, legs and timers, and the per-channel
events every dialplan step emits.

All state lives on one event loop and every timer (ringing, talking, patience) is
a loop callback, so the simulator never blocks and needs no locks. Events are
published as encoded frames with their class (``call``, ``dialplan``, ``user``), so
each AMI session can filter by its read privileges without re-encoding.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from callcenter.ami.codec import encode_frame
from callcenter.ami.message import Message
from callcenter.pbxsim.calls import AgentLeg, Conference, SimCall
from callcenter.pbxsim.channels import (
    CAUSE_TEXT,
    DOWN,
    RING,
    UNKNOWN,
    UP,
    ChannelTable,
    SimChannel,
)
from callcenter.pbxsim.events import CALLING_PRES, Headers, channel_block, event
from callcenter.pbxsim.phones import Phones

#: what chan_pjsip sets on an answered channel as it hangs up (values abridged)
RTP_QOS = (
    ("RTPAUDIOQOS", "ssrc=0;themssrc=0;lp=0;rxjitter=0.000000;rxcount=0;txjitter=0.000000"),
    ("RTPAUDIOQOSJITTER", "minrxjitter=000.000000;maxrxjitter=000.000000;"),
    ("RTPAUDIOQOSLOSS", "minrxlost=000.000000;  maxrxlost=000.000000;"),
    ("RTPAUDIOQOSRTT", "minrtt=000.000000;     maxrtt=000.000000;"),
    ("RTPAUDIOQOSMES", "minrxmes=000.000000;   maxrxmes=000.000000;"),
)

log = structlog.get_logger(__name__)

#: (event class, encoded frame) -> deliver to the sessions allowed to read it
Publish = Callable[[str, bytes], None]


class Pbx:
    def __init__(self, system_name: str, rng: random.Random, publish: Publish) -> None:
        self.system_name = system_name
        self.rng = rng
        self.channels = ChannelTable(system_name)
        self.phones = Phones()
        self.calls: dict[str, SimCall] = {}
        self.legs: dict[str, AgentLeg] = {}
        #: live ConfBridges by name (``CC_CALL_ID``)
        self.conferences: dict[str, Conference] = {}
        self.global_variables: dict[str, str] = {}
        #: DID exten -> queue, as callcenter-inbound's extensions set CC_QUEUE
        self.queue_of_did: dict[str, str] = {}
        #: ``callcenter-connect`` runs ``GotoIf(CC_AFTER_BRIDGE)`` after ``Bridge()``
        #: (config/asterisk/extensions.conf); False: the captures' dialplan, where
        #: ``Hangup()`` follows ``Bridge()`` directly
        self.after_bridge_goto = True
        #: ``Read()``'s timeout per try in ``callcenter-connect``'s answer
        #: confirmation (extensions.conf: 5 s, 2 tries; ``pbxsim.confirm``)
        self.confirm_timeout_s = 5.0
        #: ``callcenter-callback-out``'s ``Dial`` ring time (extensions.conf: 30 s)
        self.callback_ring_s = 30.0
        #: how long a callback's customer talks before hanging up, unless their
        #: number's behaviour says (``hangup_after_s``)
        self.callback_talk_s = 5.0
        #: where MixMonitor's files are written (the spool as the service sees
        #: it; ``recording``); None writes none
        self.recordings_dir: Path | None = None
        #: told of every action a session reads, before it is handled (``PbxSimulator.tap``)
        self.action_tap: Callable[[Message], None] | None = None
        self._publish = publish
        #: blocking work running on worker threads (recordings being written)
        self._background: set[asyncio.Future[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        #: Uniqueid -> what must happen once that channel hangs up
        self._hangup_watchers: dict[str, list[Callable[[], None]]] = {}

    # -- time -------------------------------------------------------------------

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def later(self, delay_s: float, fn: Callable[..., object], *args: Any) -> asyncio.TimerHandle:
        def run() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = asyncio.get_running_loop().call_later(max(0.0, delay_s), run)
        self._timers.add(handle)
        return handle

    def cancel(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._timers.discard(handle)

    def cancel_all(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

    def in_background(self, fn: Callable[[], None]) -> None:
        """Run blocking ``fn`` (writing a file) on a worker thread: the loop that
        plays every call must never wait on a disk. ``settle`` awaits it."""
        future = asyncio.get_running_loop().run_in_executor(None, fn)
        self._background.add(future)
        future.add_done_callback(self._background_done)

    def _background_done(self, future: asyncio.Future[None]) -> None:
        self._background.discard(future)
        error = None if future.cancelled() else future.exception()
        if error is not None:
            log.error("simulator: background work failed", exc_info=error)

    async def settle(self, timeout_s: float | None = None) -> None:
        """Until the background work started so far is done (files written)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=timeout_s)

    def crash(self) -> None:
        """Asterisk died: every channel, call, leg and timer is gone, silently (a dead
        process says nothing), and the counters that name channels start again.
        The phones' configuration survives; whether they are in use does not."""
        self.cancel_all()
        self.calls.clear()
        self.legs.clear()
        self.conferences.clear()
        self._hangup_watchers.clear()
        self.global_variables.clear()
        self.channels = ChannelTable(self.system_name)
        self.phones.free_all()

    def finish_leg(self, leg: AgentLeg) -> None:
        """The leg is over: its timers stop and its phone is free for the next offer."""
        leg.ended = True
        for timer in leg.timers:
            self.cancel(timer)
        leg.timers.clear()
        self.legs.pop(leg.leg_id, None)
        if leg.seized:
            leg.seized = False
            self.phones.release(leg.dial_string)
            self.device_state(leg.dial_string, "NOT_INUSE")

    def device_state(self, dial_string: str, state: str) -> None:
        """A PJSIP phone's device state (capture 15); Local phones are no devices."""
        if dial_string.startswith("PJSIP/"):
            self.emit("DeviceStateChange", "call", [("Device", dial_string), ("State", state)])

    # -- channels ---------------------------------------------------------------

    def local_pair(
        self, exten: str, context: str, uid1: str, uid2: str, linkedid: str
    ) -> tuple[SimChannel, SimChannel]:
        base = self.channels.local_base(exten, context)
        now = self.now()
        one = SimChannel(f"{base};1", uid1, linkedid, context, exten, state=DOWN)
        two = SimChannel(f"{base};2", uid2, linkedid, context, exten, state=RING)
        return self.channels.add(one, now), self.channels.add(two, now)

    def tech_channel(self, dial_string: str, uniqueid: str, context: str) -> SimChannel:
        name = self.channels.tech_name(dial_string)
        return self.channels.add(
            SimChannel(name, uniqueid, uniqueid, context, "s", state=DOWN), self.now()
        )

    # -- events -----------------------------------------------------------------

    def emit(self, name: str, privilege: str, *parts: Headers) -> None:
        self._publish(privilege, encode_frame(event(name, privilege, self.system_name, *parts)))

    def newchannel(self, ch: SimChannel) -> None:
        self.emit("Newchannel", "call", channel_block(ch))

    def newexten(self, ch: SimChannel, app: str, data: str) -> None:
        ch.app, ch.app_data = app, data
        self.emit(
            "Newexten",
            "dialplan",
            channel_block(ch),
            [("Extension", ch.exten), ("Application", app), ("AppData", data)],
        )

    def varset(self, ch: SimChannel, name: str, value: str) -> None:
        ch.variables[name] = value
        self.emit("VarSet", "dialplan", channel_block(ch), [("Variable", name), ("Value", value)])

    def newstate(self, ch: SimChannel, state: int) -> None:
        ch.state = state
        self.emit("Newstate", "call", channel_block(ch))

    def new_callerid(self, ch: SimChannel, number: str, name: str) -> None:
        ch.caller_num, ch.caller_name = number, name
        self.emit("NewCallerid", "call", channel_block(ch), [CALLING_PRES])

    def new_connected_line(self, ch: SimChannel, number: str, name: str) -> None:
        ch.connected_num, ch.connected_name = number, name
        self.emit("NewConnectedLine", "call", channel_block(ch))

    def set_caller_id(self, ch: SimChannel, number: str, name: str) -> None:
        """An Originate's CallerID: the caller id, then the connected line, change."""
        self.new_callerid(ch, number, name)
        self.new_connected_line(ch, number, name)

    def local_bridge(self, one: SimChannel, two: SimChannel) -> None:
        parts: Headers = []
        for prefix, ch in (("LocalOne", one), ("LocalTwo", two)):
            parts += channel_block(ch, prefix)
        parts += [("Context", one.context), ("Exten", one.exten), ("LocalOptimization", "Yes")]
        self.emit("LocalBridge", "call", parts)

    def dial(self, name: str, dest: SimChannel, extra: Headers) -> None:
        self.emit(name, "call", channel_block(dest, "Dest"), extra)

    def hangup_request(self, ch: SimChannel, cause: int, *, soft: bool = False) -> None:
        name = "SoftHangupRequest" if soft else "HangupRequest"
        self.emit(name, "call", channel_block(ch), [("Cause", str(cause))])

    def on_hangup(self, ch: SimChannel, fn: Callable[[], None]) -> None:
        """Run ``fn`` once ``ch`` has hung up: an application watching another
        channel (ChanSpy) learns it is gone however it went."""
        self._hangup_watchers.setdefault(ch.uniqueid, []).append(fn)

    def hangup(self, ch: SimChannel, cause: int) -> None:
        if not self.channels.alive(ch):
            return
        if ch.tech == "PJSIP" and ch.state == UP:
            # chan_pjsip leaves the call's RTP statistics on the channel (capture 15).
            for name, value in RTP_QOS:
                self.varset(ch, name, value)
        self.channels.remove(ch)
        self.emit(
            "Hangup",
            "call",
            channel_block(ch),
            [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))],
        )
        for fn in self._hangup_watchers.pop(ch.uniqueid, []):
            fn()

    def originate_response(self, leg: AgentLeg, status: str, reason: int) -> None:
        """The outcome of an Originate. On failure Asterisk names the dial string, not a
        channel: for an unreachable phone there never was one (capture 12). An
        Originate without a CallerID reports ``<unknown>`` (captures 09, 16)."""
        number, name = leg.caller_id if any(leg.caller_id) else (UNKNOWN, UNKNOWN)
        answered = leg.channel is not None and reason == 4
        channel = leg.channel.name if answered and leg.channel else leg.dial_string
        headers: Headers = []
        if leg.action_id is not None:
            headers.append(("ActionID", leg.action_id))
        headers += [
            ("Response", status),
            ("Channel", channel),
            ("Context", leg.context),
            ("Exten", leg.exten),
            ("Reason", str(reason)),
            ("Uniqueid", leg.leg_id),
            ("CallerIDNum", number),
            ("CallerIDName", name),
        ]
        self.emit("OriginateResponse", "call", headers)
