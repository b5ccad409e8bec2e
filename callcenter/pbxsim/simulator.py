"""The PBX simulator: an Asterisk 22 twin on the AMI wire, with callers and phones.

It plays the dialplan of ``config/asterisk/extensions.conf``: callers enter
``callcenter-inbound``, raise ``UserEvent(CallCenterEnqueue)`` and wait in
``callcenter-wait``; an Originate of an agent's phone into ``callcenter-connect``
rings the phone and, on answer, bridges it to ``CC_CALLER_CHANNEL``. Each step
emits the events a real Asterisk emits, in the order of the captures in
``tests/fixtures/ami`` (the conformance test holds it to that).

All state lives on one event loop; timers (ringing, talking, patience) are loop
callbacks, so the simulator never blocks and needs no locks.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from callcenter.ami.codec import encode_frame
from callcenter.ami.message import Message
from callcenter.pbxsim.behaviour import PhoneBehaviour
from callcenter.pbxsim.session import AmiSession
from callcenter.pbxsim.wire import (
    CAUSE_TEXT,
    Headers,
    SimChannel,
    bridge_block,
    channel_block,
    event,
    response,
)

log = structlog.get_logger(__name__)

INBOUND = "callcenter-inbound"
WAIT = "callcenter-wait"
CONNECT = "callcenter-connect"
DEFAULT_TALK_S = 30.0
DEFAULT_PATIENCE_S = 120.0


@dataclass
class SimCall:
    """A simulated customer: the Local pair in the inbound dialplan."""

    linkedid: str
    one: SimChannel  # ;1, the customer's phone
    two: SimChannel  # ;2, runs the dialplan and is what the ACD bridges
    queue: str
    talk_s: float
    leg: AgentLeg | None = None
    gone: bool = False
    patience: asyncio.TimerHandle | None = None


@dataclass
class AgentLeg:
    """An agent phone originated by a client."""

    leg_id: str
    dial_string: str
    behaviour: PhoneBehaviour
    session: AmiSession
    action_id: str | None
    context: str
    variables: dict[str, str]
    caller_id: tuple[str, str]
    timeout_s: float
    channel: SimChannel | None = None  # the ;1 (Local) or the only channel (PJSIP)
    half: SimChannel | None = None  # the Local ;2, playing the phone
    call: SimCall | None = None
    answered: bool = False
    ended: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


class PbxSimulator:
    def __init__(
        self,
        *,
        system_name: str = "pbx1",
        host: str = "127.0.0.1",
        port: int = 0,
        users: Mapping[str, str] | None = None,
        dids: Mapping[str, str] | None = None,
        seed: int | None = None,
    ) -> None:
        self.system_name = system_name
        self.host = host
        self.port = port
        self._users = dict(users or {"callcenter": "callcenter-secret"})
        self._did_of_queue = {
            q: did for did, q in (dids or {"100": "sales", "200": "support"}).items()
        }
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._sessions: set[AmiSession] = set()
        self._session_tasks: set[asyncio.Task[Any]] = set()
        self._channels: dict[str, SimChannel] = {}
        self._calls: dict[str, SimCall] = {}
        self._legs: dict[str, AgentLeg] = {}
        self._phones: dict[str, PhoneBehaviour] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._booted_at = time.time()
        self._ids = itertools.count()
        self._local_ids = itertools.count()
        self._tech_ids = itertools.count(1)

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> None:
        self._booted_at = time.time()
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("PBX simulator listening", host=self.host, port=self.port)

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.close()
        if self._session_tasks:
            await asyncio.wait(self._session_tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
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

    # -- configuration --------------------------------------------------------

    def add_phone(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        self._phones[dial_string] = behaviour

    def set_phone_behaviour(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        self._phones[dial_string] = behaviour

    def check_secret(self, username: str, secret: str) -> bool:
        expected = self._users.get(username)
        return expected is not None and secret == expected

    def active_calls(self) -> int:
        return sum(1 for call in self._calls.values() if not call.gone)

    def fully_booted(self) -> Headers:
        uptime = str(int(time.time() - self._booted_at))
        return [
            ("Event", "FullyBooted"),
            ("Privilege", "system,all"),
            ("Uptime", uptime),
            ("LastReload", uptime),
            ("Status", "Fully Booted"),
        ]

    # -- plumbing -------------------------------------------------------------

    def _emit(self, name: str, privilege: str, *parts: Headers) -> None:
        data = encode_frame(event(name, privilege, self.system_name, *parts))
        for session in self._sessions:
            if session.logged_in:
                session.send_bytes(data)

    def _later(self, delay_s: float, fn: Callable[..., None], *args: Any) -> asyncio.TimerHandle:
        def run() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = asyncio.get_running_loop().call_later(max(0.0, delay_s), run)
        self._timers.add(handle)
        return handle

    def _cancel(self, handle: asyncio.TimerHandle | None) -> None:
        if handle is not None:
            handle.cancel()
            self._timers.discard(handle)

    def _new_uniqueid(self) -> str:
        return f"{self.system_name}-{int(time.time())}.{next(self._ids)}"

    def _add(self, channel: SimChannel) -> SimChannel:
        channel.created_at = time.time()
        self._channels[channel.uniqueid] = channel
        return channel

    def _named(self, name: str) -> SimChannel | None:
        return next((c for c in self._channels.values() if c.name == name), None)

    def _local_pair(
        self, exten: str, context: str, uid1: str, uid2: str, linkedid: str
    ) -> tuple[SimChannel, SimChannel]:
        base = f"Local/{exten}@{context}-{next(self._local_ids):08x}"
        one = self._add(SimChannel(f"{base};1", uid1, linkedid, context, exten, state=0))
        two = self._add(SimChannel(f"{base};2", uid2, linkedid, context, exten, state=4))
        return one, two

    # -- events of one channel ------------------------------------------------

    def _newchannel(self, ch: SimChannel) -> None:
        self._emit("Newchannel", "call", channel_block(ch))

    def _newexten(self, ch: SimChannel, app: str, data: str) -> None:
        self._emit(
            "Newexten",
            "dialplan",
            channel_block(ch),
            [("Extension", ch.exten), ("Application", app), ("AppData", data)],
        )

    def _varset(self, ch: SimChannel, name: str, value: str) -> None:
        ch.variables[name] = value
        self._emit("VarSet", "dialplan", channel_block(ch), [("Variable", name), ("Value", value)])

    def _newstate(self, ch: SimChannel, state: int) -> None:
        ch.state = state
        self._emit("Newstate", "call", channel_block(ch))

    def _set_caller_id(self, ch: SimChannel, number: str, name: str) -> None:
        ch.caller_num, ch.caller_name = number, name
        self._emit(
            "NewCallerid",
            "call",
            channel_block(ch),
            [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )
        ch.connected_num, ch.connected_name = number, name
        self._emit("NewConnectedLine", "call", channel_block(ch))

    def _local_bridge(self, one: SimChannel, two: SimChannel) -> None:
        parts: Headers = []
        for prefix, ch in (("LocalOne", one), ("LocalTwo", two)):
            parts += [(f"{prefix}{k}", v) for k, v in channel_block(ch)]
        parts += [("Context", one.context), ("Exten", one.exten), ("LocalOptimization", "Yes")]
        self._emit("LocalBridge", "call", parts)

    def _dial(self, name: str, dest: SimChannel, extra: Headers) -> None:
        self._emit(name, "call", channel_block(dest, "Dest"), extra)

    def _hangup_request(self, ch: SimChannel, cause: int, soft: bool = False) -> None:
        name = "SoftHangupRequest" if soft else "HangupRequest"
        self._emit(name, "call", channel_block(ch), [("Cause", str(cause))])

    def _hangup(self, ch: SimChannel, cause: int) -> None:
        if self._channels.pop(ch.uniqueid, None) is None:
            return
        self._emit(
            "Hangup",
            "call",
            channel_block(ch),
            [("Cause", str(cause)), ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown"))],
        )

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
    ) -> str:
        """A customer dials the queue's DID and waits; returns the call's Linkedid."""
        did = self._did_of_queue.get(queue)
        if did is None:
            raise ValueError(f"no DID routes to queue {queue!r}")
        linkedid = self._new_uniqueid()
        one, two = self._local_pair(did, INBOUND, linkedid, self._new_uniqueid(), linkedid)
        call = SimCall(linkedid, one, two, queue, talk_s if talk_s is not None else DEFAULT_TALK_S)
        self._calls[linkedid] = call
        self._newchannel(one)
        self._newchannel(two)
        self._newexten(one, "AppDial2", "(Outgoing Line)")
        self._set_caller_id(one, caller_number, caller_name)
        self._set_caller_id(two, caller_number, caller_name)
        self._local_bridge(one, two)
        self._dial("DialBegin", one, [("DialString", f"{did}@{INBOUND}")])
        self._newexten(two, "Set", f"CC_QUEUE={queue}")
        self._varset(two, "CC_QUEUE", queue)
        two.priority += 1
        if account:
            self._newexten(two, "Set", f"CC_ACCOUNT={account}")
            self._varset(two, "CC_ACCOUNT", account)
            two.priority += 1
        self._newexten(two, "Goto", "enqueue,1")
        two.goto(INBOUND, "enqueue", 1)
        self._newexten(two, "Answer", "")
        self._newstate(two, 6)
        self._newstate(one, 6)
        self._dial("DialEnd", one, [("DialStatus", "ANSWER")])
        two.priority = 2
        self._newexten(two, "UserEvent", f"CallCenterEnqueue,Queue: {queue},Account: {account}")
        self._emit(
            "UserEvent",
            "user",
            channel_block(two),
            [("UserEvent", "CallCenterEnqueue"), ("Queue", queue), ("Account", account)],
        )
        two.priority = 3
        self._newexten(two, "Goto", f"{WAIT},s,1")
        two.goto(WAIT, "s", 1)
        self._newexten(two, "NoOp", "CallCenter waiting")
        two.priority = 2
        self._newexten(two, "Wait", "600")
        two.priority = 3
        patience = patience_s if patience_s is not None else DEFAULT_PATIENCE_S
        call.patience = self._later(patience, self._caller_gives_up, call)
        return linkedid

    def hangup_caller(self, linkedid: str) -> None:
        call = self._calls.get(linkedid)
        if call is not None and not call.gone:
            self._caller_hangs_up(call)

    def _caller_gives_up(self, call: SimCall) -> None:
        if not call.gone and (call.leg is None or not call.leg.answered):
            self._caller_hangs_up(call)

    def _caller_hangs_up(self, call: SimCall) -> None:
        """The customer puts the phone down (capture 04 waiting, 01 talking)."""
        call.gone = True
        self._cancel(call.patience)
        leg = call.leg if call.leg is not None and call.leg.answered else None
        self._hangup_request(call.two, 0)
        bridge_id: str | None = None
        if leg is not None and leg.channel is not None:
            bridge_id = self._break_bridge(first=call.two, second=leg.channel)
            self._newexten(leg.channel, "Hangup", "")
            self._hangup_request(leg.channel, 16, soft=True)
        self._hangup(call.one, 0)
        if leg is not None:
            self._caller_id_after_hangup(call.one)
            self._hangup(call.two, 16)
            self._end_leg_after_talk(leg, bridge_id)
        else:
            self._hangup_request(call.two, 16, soft=True)
            self._hangup(call.two, 0)
        self._calls.pop(call.linkedid, None)

    # -- agent legs -----------------------------------------------------------

    def originate_action(self, session: AmiSession, msg: Message) -> None:
        channel = msg.get("Channel")
        if not channel:
            session.send(response(msg.action_id, "Error", "Channel not specified"))
            return
        variables = dict(v.partition("=")[::2] for v in msg.get_all("Variable"))
        leg = AgentLeg(
            leg_id=msg.get("ChannelId") or self._new_uniqueid(),
            dial_string=channel,
            behaviour=self._phones.get(channel, PhoneBehaviour(registered=False)),
            session=session,
            action_id=msg.action_id,
            context=msg.get("Context") or "",
            variables=variables,
            caller_id=_parse_caller_id(msg.get("CallerID") or ""),
            timeout_s=int(msg.get("Timeout") or "30000") / 1000,
        )
        session.send(response(msg.action_id, "Success", "Originate successfully queued"))
        self._legs[leg.leg_id] = leg
        self._later(0, self._start_leg, leg)

    def _start_leg(self, leg: AgentLeg) -> None:
        if not leg.behaviour.registered:
            self._originate_response(leg, "Failure", 0)
            self._legs.pop(leg.leg_id, None)
            return
        number, name = leg.caller_id
        tech, _, resource = leg.dial_string.partition("/")
        if tech == "Local":
            exten, _, context = resource.partition("@")
            one, two = self._local_pair(exten, context, leg.leg_id, f"{leg.leg_id};2", leg.leg_id)
            leg.channel, leg.half = one, two
            self._newchannel(one)
            self._newchannel(two)
            self._newexten(one, "AppDial2", "(Outgoing Line)")
            for ch in (one, two):
                for key, value in leg.variables.items():
                    self._varset(ch, key, value)
                self._set_caller_id(ch, number, name)
            self._local_bridge(one, two)
        else:
            ch = self._add(
                SimChannel(
                    f"{leg.dial_string}-{next(self._tech_ids):08x}",
                    leg.leg_id,
                    leg.leg_id,
                    leg.context or "default",
                    "s",
                )
            )
            leg.channel = ch
            self._newchannel(ch)
            for key, value in leg.variables.items():
                self._varset(ch, key, value)
            self._set_caller_id(ch, number, name)
        self._dial("DialBegin", leg.channel, [("DialString", resource)])
        if leg.behaviour.busy:
            self._leg_busy(leg)
            return
        self._leg_rings(leg)

    def _leg_busy(self, leg: AgentLeg) -> None:
        assert leg.channel is not None
        phone = leg.half or leg.channel
        if leg.half is not None:
            self._newexten(leg.half, "Busy", "5")
            self._newstate(leg.half, 7)
        self._dial("DialEnd", leg.channel, [("DialStatus", "BUSY")])
        self._hangup_request(phone, 0)
        self._hangup_request(phone, 16, soft=True)
        self._hangup(phone, 17)
        self._originate_response(leg, "Failure", 5)
        self._hangup(leg.channel, 0)
        self._legs.pop(leg.leg_id, None)

    def _leg_rings(self, leg: AgentLeg) -> None:
        assert leg.channel is not None
        if leg.half is not None:
            self._newexten(leg.half, "Ringing", "")
        self._newstate(leg.channel, 5)
        if leg.half is not None:
            self._newexten(leg.half, "Wait", "")
        self._dial("DialState", leg.channel, [("DialStatus", "RINGING")])
        answer_after = leg.behaviour.answer_after_s
        if answer_after is not None and answer_after < leg.timeout_s:
            leg.timers.append(self._later(answer_after, self._leg_answers, leg))
        else:
            leg.timers.append(self._later(leg.timeout_s, self._leg_times_out, leg))

    def _leg_times_out(self, leg: AgentLeg) -> None:
        if leg.ended or leg.channel is None:
            return
        leg.ended = True
        phone = leg.half or leg.channel
        self._hangup_request(phone, 19)
        self._hangup_request(phone, 16, soft=True)
        self._originate_response(leg, "Failure", 3)
        self._hangup(leg.channel, 19)
        if leg.half is not None:
            self._hangup(leg.half, 19)
        self._legs.pop(leg.leg_id, None)

    def _leg_answers(self, leg: AgentLeg) -> None:
        if leg.ended or leg.channel is None:
            return
        ch = leg.channel
        if leg.half is not None:
            self._newexten(leg.half, "Answer", "")
            self._newstate(leg.half, 6)
        self._newstate(ch, 6)
        self._dial("DialEnd", ch, [("DialStatus", "ANSWER")])
        ch.goto(CONNECT, "s", 1)
        call_id = leg.variables.get("CC_CALL_ID", "")
        caller_name = leg.variables.get("CC_CALLER_CHANNEL", "")
        self._newexten(ch, "NoOp", f"CallCenter connect {call_id} to {caller_name}")
        ch.priority = 2
        record = leg.variables.get("CC_RECORD", "0")
        self._newexten(ch, "ExecIf", f'$["{record}" = "1"]?MixMonitor({call_id}.wav,b)')
        ch.priority = 3
        self._newexten(ch, "Bridge", caller_name)
        caller = self._named(caller_name)
        call = self._calls.get(caller.linkedid) if caller is not None else None
        if caller is None or call is None or call.gone or call.two is not caller:
            # Bridge() to a channel that is gone returns at once; the leg hangs up.
            self._originate_response(leg, "Success", 4)
            self._end_leg_after_talk(leg, None)
            return
        leg.answered = True
        leg.call = call
        call.leg = leg
        self._cancel(call.patience)
        bridge_id = str(uuid.UUID(int=self._rng.getrandbits(128)))
        self._emit("BridgeCreate", "call", bridge_block(bridge_id, 0))
        caller.bridge_id = bridge_id
        self._emit("BridgeEnter", "call", bridge_block(bridge_id, 1), channel_block(caller))
        self._originate_response(leg, "Success", 4)
        ch.linkedid = caller.linkedid
        ch.bridge_id = bridge_id
        self._emit("BridgeEnter", "call", bridge_block(bridge_id, 2), channel_block(ch))
        self._varset(caller, "BRIDGEPEER", ch.name)
        self._varset(ch, "BRIDGEPEER", caller.name)
        ch.connected_num, ch.connected_name = caller.caller_num, caller.caller_name
        self._emit("NewConnectedLine", "call", channel_block(ch))
        caller.connected_num, caller.connected_name = leg.caller_id
        self._emit("NewConnectedLine", "call", channel_block(caller))
        if leg.half is not None:
            leg.half.priority += 1
            self._newexten(leg.half, "Wait", "60")
            leg.half.caller_num, leg.half.caller_name = caller.caller_num, caller.caller_name
            self._emit(
                "NewCallerid",
                "call",
                channel_block(leg.half),
                [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
            )
        if leg.behaviour.hangup_after_s is not None and leg.behaviour.hangup_after_s < call.talk_s:
            leg.timers.append(self._later(leg.behaviour.hangup_after_s, self._agent_hangs_up, leg))
        else:
            leg.timers.append(self._later(call.talk_s, self._caller_hangs_up, call))

    def _agent_hangs_up(self, leg: AgentLeg) -> None:
        """The agent puts the phone down first (capture 06); the caller's dialplan
        then continues to Hangup()."""
        call = leg.call
        if leg.ended or call is None or call.gone or leg.channel is None:
            return
        phone = leg.half or leg.channel
        if leg.half is not None:
            self._newexten(leg.half, "Hangup", "")
            self._hangup_request(leg.half, 16, soft=True)
        self._hangup_request(leg.channel, 16)
        self._varset(leg.channel, "BRIDGEPEER", "")
        self._varset(call.two, "BRIDGEPEER", "")
        self._emit("BridgeLeave", "call", bridge_block(leg.channel.bridge_id or "", 1),
                   channel_block(leg.channel))  # fmt: skip
        self._varset(leg.channel, "BRIDGERESULT", "SUCCESS")
        self._hangup_request(leg.channel, 16, soft=True)
        self._hangup(leg.channel, 16)
        if phone is not leg.channel:
            self._hangup(phone, 16)
        leg.ended = True
        self._legs.pop(leg.leg_id, None)
        bridge_id = call.two.bridge_id or ""
        self._emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(call.two))
        self._emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
        call.two.bridge_id = None
        call.gone = True
        self._newexten(call.two, "Hangup", "")
        self._hangup_request(call.two, 16, soft=True)
        self._hangup_request(call.one, 16)
        self._hangup(call.two, 16)
        self._hangup(call.one, 16)
        self._caller_id_after_hangup(call.one)
        self._calls.pop(call.linkedid, None)

    def _caller_id_after_hangup(self, ch: SimChannel) -> None:
        """Asterisk reports the bridged party's caller id on the dead ;1 half."""
        self._emit(
            "NewCallerid",
            "call",
            channel_block(ch),
            [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")],
        )

    def _break_bridge(self, *, first: SimChannel, second: SimChannel) -> str:
        bridge_id = first.bridge_id or second.bridge_id or ""
        self._varset(first, "BRIDGEPEER", "")
        self._varset(second, "BRIDGEPEER", "")
        self._emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(first))
        self._emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(second))
        first.bridge_id = second.bridge_id = None
        self._varset(second, "BRIDGERESULT", "SUCCESS")
        return bridge_id

    def _end_leg_after_talk(self, leg: AgentLeg, bridge_id: str | None) -> None:
        """The agent's leg ends after the caller left (capture 01's order)."""
        if leg.ended or leg.channel is None:
            return
        leg.ended = True
        for timer in leg.timers:
            self._cancel(timer)
        if leg.half is not None:
            self._hangup_request(leg.half, 16)
        self._hangup(leg.channel, 16)
        if bridge_id:
            self._emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
        if leg.half is not None:
            self._hangup_request(leg.half, 16, soft=True)
            self._hangup(leg.half, 16)
        self._legs.pop(leg.leg_id, None)

    def _originate_response(self, leg: AgentLeg, status: str, reason: int) -> None:
        number, name = leg.caller_id
        channel = leg.channel.name if leg.channel is not None and reason == 4 else leg.dial_string
        headers: Headers = []
        if leg.action_id is not None:
            headers.append(("ActionID", leg.action_id))
        headers += [
            ("Response", status),
            ("Channel", channel),
            ("Context", leg.context),
            ("Exten", "s"),
            ("Reason", str(reason)),
            ("Uniqueid", leg.leg_id),
            ("CallerIDNum", number),
            ("CallerIDName", name),
        ]
        self._emit("OriginateResponse", "call", headers)

    # -- other actions --------------------------------------------------------

    def hangup_action(self, session: AmiSession, msg: Message) -> None:
        name = msg.get("Channel") or ""
        channel = self._named(name)
        if channel is None:
            session.send(response(msg.action_id, "Error", "No such channel"))
            return
        items = [("Event", "ChannelHungup"), ("Channel", name)]
        session.send(
            [*response(msg.action_id, "Success", "Channels hung up will follow"),
             ("EventList", "start")]
        )  # fmt: skip
        session.send([*items, *([("ActionID", msg.action_id)] if msg.action_id else [])])
        complete: Headers = [("Event", "ChannelsHungupListComplete")]
        if msg.action_id:
            complete.append(("ActionID", msg.action_id))
        session.send([*complete, ("EventList", "Complete"), ("ListItems", "1")])
        self._hang_up_channel(channel)

    def _hang_up_channel(self, channel: SimChannel) -> None:
        call = self._calls.get(channel.linkedid)
        if call is not None and channel in (call.one, call.two):
            self._caller_hangs_up(call)
            return
        leg = self._legs.get(channel.uniqueid.partition(";")[0])
        if leg is None or leg.channel is None:
            self._hangup(channel, 0)
            return
        if leg.answered and leg.call is not None:
            self._agent_hangs_up(leg)
            return
        # A ringing leg hung up by the ACD (capture 05).
        leg.ended = True
        for timer in leg.timers:
            self._cancel(timer)
        self._dial("DialEnd", leg.channel, [("DialStatus", "NOANSWER")])
        phone = leg.half or leg.channel
        self._hangup_request(phone, 0)
        self._originate_response(leg, "Failure", 0)
        if leg.half is not None:
            self._hangup_request(leg.half, 16, soft=True)
            self._hangup(leg.half, 0)
        self._hangup(leg.channel, 0)
        self._legs.pop(leg.leg_id, None)

    def redirect_action(self, session: AmiSession, msg: Message) -> None:
        channel = self._named(msg.get("Channel") or "")
        if channel is None:
            session.send(
                response(msg.action_id, "Error", f"Channel does not exist: {msg.get('Channel')}")
            )
            return
        channel.goto(msg.get("Context") or WAIT, msg.get("Exten") or "s", 1)
        session.send(response(msg.action_id, "Success", "Redirect successful"))
        self._newexten(channel, "NoOp", "CallCenter waiting")

    def core_show_channels_action(self, session: AmiSession, msg: Message) -> None:
        channels = sorted(self._channels.values(), key=lambda c: c.created_at)
        session.send(
            [*response(msg.action_id, "Success"), ("EventList", "start"),
             ("Message", "Channels will follow")]
        )  # fmt: skip
        action_id = [("ActionID", msg.action_id)] if msg.action_id else []
        now = time.time()
        for ch in channels:
            seconds = int(now - ch.created_at)
            session.send(
                [("Event", "CoreShowChannel"), *action_id, *channel_block(ch),
                 ("BridgeId", ch.bridge_id or ""), ("Application", "Wait"), ("ApplicationData", ""),
                 ("Duration", f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"),
                 ("BridgedChannel", "")]
            )  # fmt: skip
        session.send(
            [("Event", "CoreShowChannelsComplete"), *action_id, ("EventList", "Complete"),
             ("ListItems", str(len(channels)))]
        )  # fmt: skip

    def user_event_action(self, session: AmiSession, msg: Message) -> None:
        name = msg.get("UserEvent")
        if not name:
            session.send(response(msg.action_id, "Error", "UserEvent must be specified"))
            return
        session.send(response(msg.action_id, "Success", "Event Sent"))
        extra = [(k, v) for k, v in msg.headers if k not in ("Action", "ActionID", "UserEvent")]
        self._emit("UserEvent", "user", [("UserEvent", name)], extra)


def _parse_caller_id(text: str) -> tuple[str, str]:
    """``"Name" <number>`` -> (number, name)."""
    name, _, rest = text.partition("<")
    number = rest.partition(">")[0]
    return number.strip(), name.strip().strip('"')
