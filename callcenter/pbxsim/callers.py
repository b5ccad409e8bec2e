"""Simulated customers: a call enters ``callcenter-inbound``, raises
``UserEvent(CallCenterEnqueue)`` and waits in ``callcenter-wait`` — or gives up.

The steps and their events follow the dialplan contract
(``asterisk-config/extensions.conf``) and capture 01's order event for event, so
the ACD's call tracker meets here exactly what it meets on a real Asterisk.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.pbxsim.calls import SimCall
from callcenter.pbxsim.channels import UP, SimChannel
from callcenter.pbxsim.events import channel_block
from callcenter.pbxsim.pbx import Pbx

INBOUND = "callcenter-inbound"
WAIT = "callcenter-wait"
DEFAULT_TALK_S = 30.0
DEFAULT_PATIENCE_S = 120.0
#: DIDs whose inbound extension sets CC_ACCOUNT itself (extensions.conf: DID 200)
DIALPLAN_ACCOUNTS = {"200": "40012345"}


def enter(
    pbx: Pbx,
    *,
    did: str,
    queue: str,
    caller_number: str,
    caller_name: str,
    account: str,
    patience_s: float | None,
    talk_s: float | None,
    answered: Callable[[SimChannel], None] | None = None,
) -> SimCall:
    """A customer dials ``did``; returns the call, waiting for an agent.

    ``answered`` is told the customer's ;1 once the dialplan answered (where an
    AMI-originated customer gets its OriginateResponse)."""
    linkedid = pbx.channels.new_uniqueid()
    one, two = pbx.local_pair(did, INBOUND, linkedid, pbx.channels.new_uniqueid(), linkedid)
    call = SimCall(
        linkedid,
        one,
        two,
        queue,
        talk_s=DEFAULT_TALK_S if talk_s is None else talk_s,
        patience_s=DEFAULT_PATIENCE_S if patience_s is None else patience_s,
    )
    pbx.calls[linkedid] = call
    pbx.newchannel(one)
    pbx.newchannel(two)
    pbx.newexten(one, "AppDial2", "(Outgoing Line)")
    pbx.set_caller_id(one, caller_number, caller_name)
    pbx.set_caller_id(two, caller_number, caller_name)
    pbx.local_bridge(one, two)
    pbx.dial("DialBegin", one, [("DialString", f"{did}@{INBOUND}")])
    _run_inbound_context(pbx, two, queue, account)
    pbx.newstate(two, UP)
    pbx.newstate(one, UP)
    pbx.dial("DialEnd", one, [("DialStatus", "ANSWER")])
    if answered is not None:
        answered(one)
    _enqueue(pbx, two, queue, account)
    wait_again(pbx, two)
    call.patience = pbx.later(call.patience_s, give_up, pbx, call)
    return call


def _run_inbound_context(pbx: Pbx, two: SimChannel, queue: str, account: str) -> None:
    pbx.newexten(two, "Set", f"CC_QUEUE={queue}")
    pbx.varset(two, "CC_QUEUE", queue)
    two.priority += 1
    if account:
        pbx.newexten(two, "Set", f"CC_ACCOUNT={account}")
        pbx.varset(two, "CC_ACCOUNT", account)
        two.priority += 1
    pbx.newexten(two, "Goto", "enqueue,1")
    two.goto(INBOUND, "enqueue", 1)
    pbx.newexten(two, "Answer", "")


def _enqueue(pbx: Pbx, two: SimChannel, queue: str, account: str) -> None:
    two.priority = 2
    pbx.newexten(two, "UserEvent", f"CallCenterEnqueue,Queue: {queue},Account: {account}")
    pbx.emit(
        "UserEvent",
        "user",
        channel_block(two),
        [("UserEvent", "CallCenterEnqueue"), ("Queue", queue), ("Account", account)],
    )
    two.priority = 3
    pbx.newexten(two, "Goto", f"{WAIT},s,1")


def wait_again(pbx: Pbx, two: SimChannel) -> None:
    """The caller's ;2 runs ``callcenter-wait`` (on entry, and after a Redirect)."""
    two.goto(WAIT, "s", 1)
    pbx.newexten(two, "NoOp", "CallCenter waiting")
    two.priority = 2
    pbx.newexten(two, "Wait", "600")
    # Asterisk reports the priority after the running Wait (3) on later events.
    two.priority = 3


def give_up(pbx: Pbx, call: SimCall) -> None:
    """Patience ran out: a caller nobody answered hangs up (capture 04)."""
    if not call.gone and (call.leg is None or not call.leg.answered):
        abandon(pbx, call)


def abandon(pbx: Pbx, call: SimCall) -> None:
    """A caller who is not talking to anyone hangs up (captures 03, 04, 05)."""
    call.gone = True
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    pbx.hangup_request(call.two, 0)
    pbx.hangup(call.one, 0)
    if call.transferred:
        # As after a bridge: the ;1 reports the party it was connected to (08).
        pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.hangup_request(call.two, 16, soft=True)
    pbx.hangup(call.two, 16 if call.transferred else 0)
    pbx.calls.pop(call.linkedid, None)


def dialplan_hangs_up(pbx: Pbx, call: SimCall, *, was_bridged: bool = True) -> None:
    """The caller's ;2 reaches a ``Hangup()`` of its dialplan (capture 06, after
    its agent left; the callback prompt; the survey): the ;2 goes, then the
    customer's ;1. ``was_bridged``: Asterisk then reports the caller id of the
    party the ;1 was connected to on the dead ;1."""
    call.gone = True
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    pbx.newexten(call.two, "Hangup", "")
    pbx.hangup_request(call.two, 16, soft=True)
    pbx.hangup_request(call.one, 16)
    pbx.hangup(call.two, 16)
    pbx.hangup(call.one, 16)
    if was_bridged:
        pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.calls.pop(call.linkedid, None)
