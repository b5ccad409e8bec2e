"""What an agent may do with the call they are talking on, decided on live state.

Hold, resume, blind and attended transfer, three-way conference and hang up all
start here: a pure check that the agent may do this to this call now, and what
the target is. The orchestrator then sends the actions and keeps the state.

Why a call moves into a conference: an answered call talks through ``Bridge()``
in ``callcenter-connect`` (captures 01-06): one dialplan hop, nothing more for
Asterisk to mix. Capture 08 shows that a caller Redirected out of that bridge
ends the agent's leg, so a hold or a consultation cannot be a bare Redirect. The
first time the agent needs one, the call is moved, once, into its own ConfBridge
named after the call (capture 16): the caller is Redirected into
``callcenter-conf`` and the agent's leg, marked ``CC_AFTER_BRIDGE=conf``, follows
it there when its ``Bridge()`` returns. From then on the caller can leave for
hold music and come back, and a second agent or an outside number can join and
the first leave, without anyone being dropped. Calls that need none of this
never pay for a conference.

Blind transfers need no conference: the caller is Redirected back to
``callcenter-wait`` (to a queue or an agent: offered again, keeping their place)
or to ``callcenter-outbound`` (an outside number), and the agent's leg ends.
"""

from __future__ import annotations

from agents import AgentState
from callcenter.orchestration.live import LiveAgent, LiveCall
from callcenter.ports import CallControlError

OUTBOUND_CONTEXT = "callcenter-outbound"


def outside_dial_string(number: str) -> str:
    """How an outside number is rung into a call's conference: through the
    dialplan's ``callcenter-outbound``, which owns the trunk."""
    return f"Local/{number}@{OUTBOUND_CONTEXT}"


def own_talking_call(call: LiveCall | None, agent_id: int) -> LiveCall:
    """The call, if ``agent_id`` is the agent talking on it now."""
    if call is None or call.caller_gone:
        raise CallControlError("no_such_call", "no live call with this id")
    if call.answered_by != agent_id or call.agent_id != agent_id:
        raise CallControlError("not_your_call", "you are not the agent on this call")
    if call.phase != "talking" or call.leg_id is None:
        raise CallControlError("wrong_phase", f"the call is {call.phase}, not talking")
    if call.controlling:
        raise CallControlError("wrong_phase", "another action on this call is under way")
    return call


def ready_colleague(agents: dict[int, LiveAgent], agent_id: int, asking: int) -> LiveAgent:
    """The agent a call may be handed to now: known, not the asking agent, Ready."""
    if agent_id == asking:
        raise CallControlError("bad_target", "you cannot transfer a call to yourself")
    agent = agents.get(agent_id)
    if agent is None:
        raise CallControlError("bad_target", f"no agent {agent_id}")
    if agent.state != AgentState.READY or agent.call_id is not None:
        raise CallControlError("target_busy", f"agent {agent_id} is {agent.state.value}")
    return agent
