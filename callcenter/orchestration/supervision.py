"""Supervisors listening in on live calls: monitor, whisper, barge.

The supervisor is rung on their own phone: their user is linked to an agent
profile (``users.agent_id``) whose dial string is that phone. Once it is
answered, the dialplan's fixed ``[callcenter-spy]`` runs ChanSpy on the call's
*agent* channel. ChanSpy's whisper speaks into the spied channel, so spying on the
agent's side is what makes a whisper reach the agent and not the caller.

Scope: supervisors and admins (``may_supervise``); a supervisor assigned to some
queues (``supervisor_queues``) only the calls of those queues, and a refusal for
another queue's call reads like an unknown call (``no_such_call``) so it tells
nothing about calls they may not see.

Audit: every attempt by a logged-in user ends in one row of the append-only
``supervision_events``, written before the answer goes back to them. The write is
retried a few times; if it still fails, the whole event is logged at error level,
a leg already originated is hung up again (no supervision without its row) and the
attempt fails with ``SupervisionNotAudited``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from agents import AgentState
from callcenter.orchestration.live import LiveAgent, LiveCall
from callcenter.orchestration.ports import Dialer, OfferNotPlaced
from callcenter.ports import (
    Principal,
    SupervisionEvent,
    SupervisionFailed,
    SupervisionLog,
    SupervisionMode,
    SupervisionNotAudited,
    SupervisionRefused,
    SupervisionStarted,
    may_supervise,
)

log = structlog.get_logger(__name__)

#: States in which the supervisor's own phone is taken by a call of theirs.
PHONE_IN_USE = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL})
AUDIT_ATTEMPTS = 3
#: pause before the 2nd, 3rd... attempt (doubles each time)
AUDIT_BACKOFF_S = 0.1


@dataclass(frozen=True, slots=True)
class SpyPlan:
    """An allowed supervision, before anything is sent."""

    pbx: str
    call_id: str
    agent_id: int
    agent_leg_id: str
    supervisor_target: str
    spy_leg_id: str


def new_spy_leg_id(call_id: str) -> str:
    """The supervisor leg's ChannelId: random, so a restarted service never
    reuses one (capture 09 names it ``spy-<call>``)."""
    return f"spy-{call_id}-{uuid.uuid4().hex[:8]}"


def plan_spy(
    *,
    call_id: str,
    call: LiveCall | None,
    agents: Mapping[int, LiveAgent],
    supervisor: Principal,
) -> SpyPlan:
    """Whether ``supervisor`` may listen in on ``call`` now, from live state alone
    (no I/O); raises ``SupervisionRefused`` naming why not."""
    if not may_supervise(supervisor):
        raise SupervisionRefused("forbidden", "needs the role supervisor or admin")
    if call is None or not supervisor.sees_queue(call.queue):
        raise SupervisionRefused("no_such_call", "no live call with this id")
    agent_id = call.answered_by
    if (
        call.phase != "talking"
        or call.caller_gone
        or agent_id is None
        or call.agent_id != agent_id
        or call.leg_id is None
    ):
        phase = "ending" if call.caller_gone else call.phase
        raise SupervisionRefused(
            "not_talking",
            f"the call is {phase}, not talking with an agent",
            agent_id=call.agent_id,
        )
    own = agents.get(supervisor.agent_id) if supervisor.agent_id is not None else None
    if own is None or not own.profile.dial_string:
        raise SupervisionRefused(
            "no_phone",
            "no phone on file for this user: link the user to an agent profile with a dial string",
            agent_id=agent_id,
        )
    if own.state in PHONE_IN_USE:
        raise SupervisionRefused("phone_busy", "your own phone is on a call", agent_id=agent_id)
    return SpyPlan(
        pbx=call.pbx,
        call_id=call.call_id,
        agent_id=agent_id,
        agent_leg_id=call.leg_id,
        supervisor_target=own.profile.dial_string,
        spy_leg_id=new_spy_leg_id(call_id),
    )


class SupervisionDesk:
    """Sends the supervisor's leg and keeps the audit trail of every attempt."""

    def __init__(
        self,
        audit_log: SupervisionLog | None,
        clock: Callable[[], float],
        *,
        attempts: int = AUDIT_ATTEMPTS,
        backoff_s: float = AUDIT_BACKOFF_S,
    ) -> None:
        self._log = audit_log
        self._clock = clock
        self._attempts = attempts
        self._backoff_s = backoff_s

    async def refused(
        self,
        supervisor: Principal,
        call_id: str,
        mode: SupervisionMode,
        refusal: SupervisionRefused,
    ) -> None:
        await self._audit(
            self._event(supervisor, call_id, mode, f"refused:{refusal.reason}", refusal.agent_id)
        )

    async def start(
        self,
        plan: SpyPlan,
        supervisor: Principal,
        mode: SupervisionMode,
        dialer: Dialer | None,
    ) -> SupervisionStarted:
        def event(outcome: str) -> SupervisionEvent:
            return self._event(
                supervisor, plan.call_id, mode, outcome, plan.agent_id, plan.spy_leg_id
            )

        if self._log is None:
            # Checked before anything rings: without a trail nothing may start.
            await self._audit(event("refused:not_audited"))
        try:
            if dialer is None:
                raise OfferNotPlaced(f"no link to PBX {plan.pbx!r}", link_down=True)
            confirmed = await dialer.originate_spy_leg(
                spy_leg_id=plan.spy_leg_id,
                call_id=plan.call_id,
                supervisor_target=plan.supervisor_target,
                agent_leg_id=plan.agent_leg_id,
                mode=mode.value,
            )
        except OfferNotPlaced as exc:
            reason = "link_down" if exc.link_down else "pbx_refused"
            await self._audit(event(f"failed:{reason}"))
            raise SupervisionFailed(reason, str(exc), agent_id=plan.agent_id) from exc
        except Exception as exc:
            # A bug or a surprise below: still audited, and whatever may have been
            # sent is hung up.
            log.exception("supervisor leg failed", spy_leg_id=plan.spy_leg_id)
            await self._audit(event("failed:error"))
            await hang_up_spy_leg(dialer, plan.spy_leg_id)
            raise SupervisionFailed("error", "the supervisor's leg could not be placed") from exc
        try:
            await self._audit(event("started" if confirmed else "started:unconfirmed"))
        except SupervisionNotAudited:
            await hang_up_spy_leg(dialer, plan.spy_leg_id)
            raise
        return SupervisionStarted(plan.call_id, plan.agent_id, mode, plan.spy_leg_id, confirmed)

    def _event(
        self,
        supervisor: Principal,
        call_id: str,
        mode: SupervisionMode,
        outcome: str,
        agent_id: int | None,
        spy_leg_id: str | None = None,
    ) -> SupervisionEvent:
        return SupervisionEvent(
            at=datetime.fromtimestamp(self._clock(), tz=UTC),
            user_id=supervisor.user_id,
            username=supervisor.username,
            call_id=call_id,
            mode=mode,
            outcome=outcome,
            agent_id=agent_id,
            spy_leg_id=spy_leg_id,
        )

    async def _audit(self, event: SupervisionEvent) -> None:
        """Store the event, retrying; raise ``SupervisionNotAudited`` if it cannot be."""
        fields = {
            "user_id": event.user_id,
            "username": event.username,
            "call_id": event.call_id,
            "agent_id": event.agent_id,
            "mode": event.mode.value,
            "outcome": event.outcome,
            "spy_leg_id": event.spy_leg_id,
        }
        if self._log is None:
            log.error("supervision not audited: no audit trail configured", **fields)
            raise SupervisionNotAudited("not_audited", "the supervision audit trail is not set up")
        error = ""
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                await self._log.record(event)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("supervision audit write failed", attempt=attempt + 1, error=error)
                continue
            log.info("supervision", **fields)
            return
        # The log line is then the only trace: it carries the whole event.
        log.error("supervision not audited", error=error, **fields)
        raise SupervisionNotAudited(
            "not_audited", "the supervision could not be written to the audit trail"
        )


async def hang_up_spy_leg(dialer: Dialer | None, spy_leg_id: str) -> None:
    """Best effort: the leg may not exist yet, or any more."""
    if dialer is None:
        return
    try:
        await dialer.hangup_leg(spy_leg_id)
    except Exception as exc:
        log.warning("hanging up a supervisor leg failed", spy_leg_id=spy_leg_id, error=str(exc))
