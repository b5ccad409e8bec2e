"""The composition root: ``create_app(settings)`` builds the whole service.

Nothing is built at import time. The FastAPI lifespan opens the database, applies
migrations, loads agents and queues, starts the embedded PBX simulator when it is
enabled, connects one AMI link per ``[[pbx]]`` entry and starts the orchestrator;
it stops them in reverse order. With ``ha_enabled`` the web app serves at once,
but what acts on calls starts only once this node leads (``callcenter.leadership``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agents import AgentProfile, AgentState
from callcenter import demo
from callcenter.arrival_journal import FileArrivalJournal, directory_for, recover_arrivals
from callcenter.db.audit import AuditTrail
from callcenter.db.migrate import run_migrations
from callcenter.db.records import CallRecorder
from callcenter.db.routing_rules import live_rules_or_default
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.supervision import SupervisionAudit
from callcenter.db.users import make_authenticator
from callcenter.db.wait import wait_for_database
from callcenter.leadership import Leadership
from callcenter.live_metrics import LiveCallCenterCollector
from callcenter.orchestration.dialing import DialPlan
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.pbx_link import PbxLink
from callcenter.pop_views import AuditedPops
from callcenter.ports import (
    AgentView,
    DeskUnavailable,
    Principal,
    SupervisionMode,
    SupervisionStarted,
    TransferTarget,
    Wallboard,
)
from callcenter.recording_ingest import RecordingIngest
from callcenter.recording_retention import run_retention
from callcenter.rules_watch import follow_published_rules
from callcenter.screen_pops import ScreenPops
from callcenter.settings import RecordingSettings, Settings, refuse_demo_secrets
from callcenter.web.app import create_web_app
from callcenter.web.forwarding import Forwarding
from callcenter.web.hub import Hub
from recordings import RecordingCipher, RecordingStore
from routing import RoutingRules
from screenpop.external import ExternalCrm

if TYPE_CHECKING:
    from callcenter.leader_address import LeaderAddress

log = structlog.get_logger(__name__)


class DeskProxy:
    """The web app is built before the lifespan has an orchestrator; this forwards
    to it once it exists (and says 'not ready' until then)."""

    def __init__(self) -> None:
        self.target: Orchestrator | None = None
        #: why there is no router yet, as the client is told
        self.why_not = "the call center is still starting"

    def _orchestrator(self) -> Orchestrator:
        if self.target is None:
            raise DeskUnavailable(self.why_not)
        return self.target

    def agent_view(self, agent_id: int) -> AgentView:
        return self._orchestrator().agent_view(agent_id)

    async def set_agent_state(
        self, agent_id: int, state: AgentState, reason: str | None = None
    ) -> AgentView:
        return await self._orchestrator().set_agent_state(agent_id, state, reason)

    def wallboard(self) -> Wallboard:
        return self._orchestrator().wallboard()

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        return self._orchestrator().current_pop(agent_id)

    def routing_of(self, call_id: str) -> dict[str, Any] | None:
        return self._orchestrator().routing_of(call_id)

    async def supervise(
        self, call_id: str, supervisor: Principal, mode: SupervisionMode
    ) -> SupervisionStarted:
        return await self._orchestrator().supervise(call_id, supervisor, mode)

    async def hold(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().hold(call_id, agent_id)

    async def pause_recording(self, call_id: str, agent_id: int, by: str) -> dict[str, Any]:
        return await self._orchestrator().pause_recording(call_id, agent_id, by)

    async def resume_recording(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().resume_recording(call_id, agent_id)

    async def resume(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().resume(call_id, agent_id)

    async def hang_up(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().hang_up(call_id, agent_id)

    async def transfer(
        self,
        call_id: str,
        agent_id: int,
        target: TransferTarget,
        *,
        attended: bool,
        note: str | None = None,
    ) -> dict[str, Any]:
        return await self._orchestrator().transfer(
            call_id, agent_id, target, attended=attended, note=note
        )

    async def conference(
        self, call_id: str, agent_id: int, target: TransferTarget
    ) -> dict[str, Any]:
        return await self._orchestrator().conference(call_id, agent_id, target)

    async def complete_transfer(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().complete_transfer(call_id, agent_id)

    async def join_parties(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().join_parties(call_id, agent_id)

    async def cancel_party(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return await self._orchestrator().cancel_party(call_id, agent_id)

    async def wrap_up_done(self, agent_id: int, disposition: str, notes: str) -> AgentView:
        return await self._orchestrator().wrap_up_done(agent_id, disposition, notes)

    def caller_on_screen(self, agent_id: int, call_id: str) -> dict[str, Any]:
        return self._orchestrator().caller_on_screen(agent_id, call_id)

    def show_identified_caller(
        self, agent_id: int, call_id: str, pop: dict[str, Any]
    ) -> dict[str, Any]:
        return self._orchestrator().show_identified_caller(agent_id, call_id, pop)

    def current_rules(self) -> tuple[RoutingRules, int | None]:
        orchestrator = self._orchestrator()
        return orchestrator.rules, orchestrator.rules_version

    def rules_refusal(self, rules: RoutingRules) -> str | None:
        return self._orchestrator().rules_refusal(rules)

    def apply_rules(self, rules: RoutingRules, version: int | None) -> None:
        self._orchestrator().apply_rules(rules, version)

    def put_agent(self, profile: AgentProfile) -> None:
        self._orchestrator().put_agent(profile)

    def remove_agent(self, agent_id: int) -> None:
        self._orchestrator().remove_agent(agent_id)


class Runtime:
    """What the lifespan built, kept on ``app.state.runtime`` for tests and probes."""

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None
        self.orchestrator: Orchestrator | None = None
        self.links: dict[str, PbxLink] = {}
        self.simulator: Any = None
        self.recordings: RecordingIngest | None = None


def create_app(settings: Settings) -> FastAPI:
    refuse_demo_secrets(settings)
    hub, fanout = build_hub(settings)
    desk = DeskProxy()
    runtime = Runtime()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    supervision_audit = SupervisionAudit(sessions)
    audit_trail = AuditTrail(sessions)
    store = recording_store(settings.recordings)
    runtime.engine = engine
    leadership = (
        Leadership(settings.database_url, poll_s=settings.ha_poll_s)
        if settings.ha_enabled
        else None
    )
    if leadership is not None:
        desk.why_not = "this node is a standby: another node leads the call center"
    leader_address, forwarding = build_forwarding(settings, desk)

    async def readiness() -> dict[str, bool]:
        checks: dict[str, bool] = {"database": False}
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            log.warning("readiness: database unreachable")
        for pbx in settings.pbx:
            link = runtime.links.get(pbx.name)
            checks[f"pbx:{pbx.name}"] = bool(link and link.connected and link.in_step)
        if leadership is not None:
            checks["leader"] = leadership.is_leader
        return checks

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def start_acting(stack: AsyncExitStack) -> None:
            """Everything that acts on calls; with HA, run only once this node leads."""
            directory = await demo.load_directory(sessions)
            if settings.simulator.enabled:
                simulator = demo.build_simulator(
                    settings.pbx[0],
                    settings.simulator,
                    directory,
                    recordings_dir=settings.recordings.spool_dir,
                )
                await simulator.start()
                stack.push_async_callback(simulator.stop)
                runtime.simulator = simulator

            links = {pbx.name: PbxLink(pbx) for pbx in settings.pbx}
            audited_pops = AuditedPops(
                hub, audit_trail, lambda agent_id: desk.agent_view(agent_id).login
            )
            _background(stack, audited_pops.run(), "pop-view-audit")
            recorder = CallRecorder(sessions)
            ingest = RecordingIngest(
                sessions,
                store,
                settings.recordings.spool_dir,
                file_wait_s=settings.recordings.file_wait_s,
            )
            runtime.recordings = ingest
            # Cancelled last of the background work: after the orchestrator has
            # stopped handing it calls, so a recording of the last call is kept.
            _background(stack, ingest.run(), "recording-ingest")
            stack.push_async_callback(_drain, ingest, settings.recordings.file_wait_s + 5.0)
            rules, rules_version = await live_rules_or_default(sessions)
            journal = FileArrivalJournal(directory_for(settings.journal_dir, settings.database_url))
            # before the open records are read: what it adds is among them
            await recover_arrivals(journal, recorder.arrivals_recovered)
            stack.callback(journal.close)  # after the orchestrator's last write
            external_crm = ExternalCrm(settings.crm) if settings.crm.enabled else None
            if external_crm is not None:
                stack.push_async_callback(external_crm.aclose)
            orchestrator = Orchestrator(
                agents=directory.agents,
                rules=rules,
                rules_version=rules_version,
                dialers=links,
                records=recorder,
                awaiting_resync=links.keys(),
                open_calls=await recorder.open_calls(),
                agent_states=await recorder.last_agent_states(),
                dial_plan=DialPlan.from_settings(settings),
                callback_retry_s=settings.callback_retry_s,
                pops=ScreenPops(sessions, settings.default_region, external=external_crm),
                notifier=audited_pops,
                supervision_log=supervision_audit,
                recording_sink=ingest,
                journal=journal,
            )
            orchestrator.start()
            stack.push_async_callback(orchestrator.stop)
            desk.target = orchestrator
            runtime.orchestrator = orchestrator
            live_figures = LiveCallCenterCollector(orchestrator.wallboard)
            REGISTRY.register(live_figures)
            stack.callback(REGISTRY.unregister, live_figures)
            runtime.links = links

            for link in links.values():
                await link.start(orchestrator.handle)
                stack.push_async_callback(link.stop)
            _background(
                stack,
                follow_published_rules(sessions, orchestrator, settings.rules_poll_s),
                "routing-rules",
            )
            _background(
                stack,
                run_retention(
                    sessions,
                    store,
                    lambda: orchestrator.rules,
                    audit_trail,
                    settings.recordings.retention_interval_s,
                    lambda: datetime.now(UTC),
                ),
                "recording-retention",
            )

            if settings.simulator.enabled and settings.simulator.callers:
                callers = demo.build_callers(runtime.simulator, settings.simulator, directory)
                if callers is not None:
                    _background(stack, callers.run(), "demo-callers")
            if settings.simulator.enabled and settings.simulator.auto_agents:
                _background(
                    stack,
                    demo.keep_simulated_agents_ready(
                        orchestrator, directory.simulated_ids, runtime.simulator
                    ),
                    "demo-agents",
                )
            if leader_address is not None and settings.advertise_url is not None:
                # Last: other nodes forward here only once this node can answer.
                _background(stack, leader_address.advertise(settings.advertise_url), "advertise")
            log.info(
                "callcenter started",
                agents=len(directory.agents),
                queues=[q.name for q in directory.queues],
                rules_version=rules_version,
                pbx=[p.name for p in settings.pbx],
                simulator=settings.simulator.enabled,
            )

        async with AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await wait_for_database(engine, settings.database_wait_s)
            await asyncio.to_thread(run_migrations, settings.database_url)
            if leader_address is not None:
                stack.push_async_callback(leader_address.aclose)
            if fanout is not None:
                # Every node, leader or not, serves pages: each shares its hub.
                # Stopped after what acts on calls, so its last pushes go out.
                _background(stack, fanout(), "hub-fanout")
            if leadership is None:
                await start_acting(stack)
            else:
                # The lock is let go last: after the node stopped acting.
                stack.push_async_callback(leadership.close)
                _background(stack, _lead(leadership, start_acting), "leadership")
            yield
            log.info("callcenter stopping")

    app = create_web_app(
        desk=desk,
        hub=hub,
        authenticate=make_authenticator(sessions),
        session_secret=settings.session_secret.get_secret_value(),
        allowed_origins=settings.allowed_origins,
        readiness=readiness,
        lifespan=lifespan,
        supervision_log=supervision_audit,
        database=sessions,
        audit=audit_trail,
        recordings=store,
        desktop_grace_s=settings.desktop_grace_s,
        default_region=settings.default_region,
        reports=settings.reports,
        forwarding=forwarding,
    )
    app.state.runtime = runtime
    return app


async def _drain(ingest: RecordingIngest, timeout_s: float) -> None:
    """Keep the recordings of calls that ended just before the stop."""
    try:
        await asyncio.wait_for(ingest.drain(), timeout_s)
    except TimeoutError:
        log.warning("stopping with recordings not yet kept", backlog=ingest.backlog)


def recording_store(settings: RecordingSettings) -> RecordingStore:
    key = settings.encryption_key
    cipher = RecordingCipher.from_base64(key.get_secret_value()) if key is not None else None
    settings.spool_dir.mkdir(parents=True, exist_ok=True)
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return RecordingStore(settings.store_dir, cipher)


def build_hub(settings: Settings) -> tuple[Hub, Callable[[], Awaitable[None]] | None]:
    """The hub, and the task that shares it with other nodes (only with ``redis_url``;
    ``redis`` is imported then only, a single node runs without it)."""
    if settings.redis_url is None:
        return Hub(), None
    from callcenter.web.hub_fanout import FanoutHub

    hub = FanoutHub(
        settings.redis_url.get_secret_value(),
        channel=settings.fanout.channel,
        node=settings.fanout.node,
        max_pending=settings.fanout.max_pending,
        max_delay_s=settings.fanout.max_delay_s,
        presence_interval_s=settings.fanout.presence_interval_s,
    )
    return hub, hub.run


def build_forwarding(
    settings: Settings, desk: DeskProxy
) -> tuple[LeaderAddress | None, Forwarding | None]:
    """With HA and Redis: where the leader publishes its address, and how a node
    that does not lead sends commands there (``redis`` imported then only)."""
    if not settings.ha_enabled or settings.redis_url is None:
        return None, None
    if settings.advertise_url is None:
        log.warning(
            "ha_enabled and redis_url without advertise_url: a node that does not lead "
            "cannot forward commands and answers 503"
        )
    from callcenter.leader_address import LeaderAddress, leader_key

    address = LeaderAddress(
        settings.redis_url.get_secret_value(), leader_key(settings.fanout.channel)
    )
    forwarding = Forwarding(
        lookup=address,
        routes_here=lambda: desk.target is not None,
        own_url=settings.advertise_url,
    )
    return address, forwarding


def _background(stack: AsyncExitStack, coro: Any, name: str) -> None:
    task = asyncio.create_task(coro, name=name)

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(cancel)


async def _lead(
    leadership: Leadership, start_acting: Callable[[AsyncExitStack], Awaitable[None]]
) -> None:
    """HA: wait to lead, then start acting, and hold it until cancelled (the service
    stopping), when it is stopped in reverse order. A leader that cannot start
    acting must not keep the lock from a standby that might: it steps down."""
    async with AsyncExitStack() as acting:
        try:
            await leadership.acquire()
            await start_acting(acting)
        except Exception as exc:
            log.exception("could not start leading")
            leadership.lost(f"start-up failed: {type(exc).__name__}: {exc}")
            return
        await asyncio.Event().wait()
