"""How much traffic the PBX simulator carries on one core.

The simulator runs in a process of its own (so the figures are its own CPU and
memory, not the load driver's) with thousands of PJSIP phones and a scenario of
Poisson callers at the target rate. This process is the ACD: one AMI connection
over loopback TCP that, like ``PbxLink``, answers each ``CallCenterEnqueue`` by
originating a free agent's phone into ``callcenter-connect``
(``callcenter.ami.actions.originate_agent_leg``) and frees the phone when its leg
hangs up. The simulator's phones answer, the callers talk and hang up.

Reported: the calls/s the simulator actually placed and the client answered,
AMI events/s it sent, the CPU seconds it used per wall second
(``time.process_time``; 1.0 is a whole core) and its peak RSS.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import logging
import multiprocessing
import pstats
import resource
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

import structlog

from callcenter.ami import actions
from callcenter.ami.codec import AmiCodec, encode_action
from callcenter.ami.message import Message
from callcenter.logs import stderr_logger
from callcenter.pbxsim.scenario import AgentGroup, LogNormal, Scenario, Uniform, fixed
from callcenter.pbxsim.server import PbxSimulator
from callcenter.pbxsim.traffic import CallerGenerator, PhonePlan

USER, SECRET = "bench", "bench-secret"
QUEUE, DID = "bench", "900"
PHONE_PREFIX = "PJSIP/bench"
RING_TIMEOUT_S = 15.0
#: how long the simulator may take to let the last callers finish
DRAIN_LIMIT_S = 30.0
READ_SIZE = 256 * 1024


def bench_scenario(calls_per_s: float, seconds: float, phones: int, seed: int) -> Scenario:
    """Callers at ``calls_per_s`` for ``seconds``; phones answer in 0.2-1 s and
    callers talk ~3 s, so about ``calls_per_s * 3.6`` phones are busy at a time."""
    return Scenario(
        name="bench",
        seed=seed,
        duration_s=seconds,
        arrivals={QUEUE: calls_per_s * 3600},
        patience=fixed(30.0),
        talk=LogNormal(dist="lognormal", mean=3.0, sd=1.0),
        agents=[
            AgentGroup(
                name="bench",
                count=phones,
                dial_prefix=PHONE_PREFIX,
                answer_delay=Uniform(dist="uniform", low=0.2, high=1.0),
            )
        ],
    )


# -- the simulator's process --------------------------------------------------


def _simulator_process(conn: Connection, scenario_json: str, profile: bool) -> None:
    # Figures go to stdout as JSON: the simulator's own log lines go to stderr,
    # warnings only.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=stderr_logger,
    )
    scenario = Scenario.model_validate_json(scenario_json)
    profiler = cProfile.Profile() if profile else None
    stats = asyncio.run(_simulate(conn, scenario, profiler))
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        stats["profile"] = out.getvalue()
    conn.send(stats)
    conn.close()


async def _simulate(
    conn: Connection, scenario: Scenario, profiler: cProfile.Profile | None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    seed = scenario.seed or 0
    sim = PbxSimulator(port=0, users={USER: SECRET}, dids={DID: QUEUE}, seed=seed)
    phones = PhonePlan(sim, seed=seed, time_scale=scenario.time_scale)
    for dial_string, group in scenario.own_phones():
        phones.add(dial_string, group)
    await sim.start()
    conn.send(sim.port)
    await loop.run_in_executor(None, conn.recv)  # the client is logged in
    callers = CallerGenerator(sim, scenario, queues=[QUEUE], numbers=[], seed=seed)
    if profiler is not None:
        profiler.enable()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await callers.run()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    conn.send("arrivals over")
    drain_deadline = wall1 + DRAIN_LIMIT_S
    while sim.active_calls() and time.perf_counter() < drain_deadline:
        await asyncio.sleep(0.05)
    if profiler is not None:
        profiler.disable()
    left = sim.active_calls()
    await sim.stop()
    return {
        "placed": callers.placed_count,
        "arrival_wall_s": wall1 - wall0,
        "arrival_cpu_s": cpu1 - cpu0,
        "drain_wall_s": time.perf_counter() - wall1,
        "left_active": left,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "phones": len(phones),
    }


# -- the ACD's side -----------------------------------------------------------


class AnsweringClient:
    """A minimal ACD on one AMI connection: a free phone for each enqueued caller."""

    def __init__(self, phones: list[str]) -> None:
        self.free: deque[str] = deque(phones)
        self.waiting: deque[str] = deque()
        self.leg_phone: dict[str, str] = {}
        self.events = 0
        self.enqueued = 0
        self.answered = 0
        self.failed = 0
        self._legs = 0
        self._actions = 0
        self._writer: asyncio.StreamWriter | None = None
        self._codec = AmiCodec()

    async def connect(self, port: int) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self._writer = writer
        self._send("Login", [("Username", USER), ("Secret", SECRET), ("Events", "on")])
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                raise ConnectionError("the simulator closed the connection")
            for frame in self._codec.feed(data):
                if isinstance(frame, Message) and frame.get("Event") == "FullyBooted":
                    return reader

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def read(self, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(READ_SIZE):
            for frame in self._codec.feed(data):
                if isinstance(frame, Message) and frame.event is not None:
                    self.events += 1
                    self._on_event(frame)

    def _send(self, action: str, headers: list[tuple[str, str]]) -> None:
        assert self._writer is not None
        self._actions += 1
        self._writer.write(encode_action(action, f"b{self._actions}", headers))

    def _on_event(self, msg: Message) -> None:
        name = msg.event
        if name == "UserEvent" and msg.get("UserEvent") == "CallCenterEnqueue":
            self.enqueued += 1
            self.waiting.append(msg.get("Channel") or "")
            self._offer()
        elif name == "OriginateResponse":
            if msg.get("Response") == "Success":
                self.answered += 1
            else:
                self.failed += 1
                self._release(msg.get("Uniqueid") or "")
        elif name == "Hangup":
            self._release(msg.get("Uniqueid") or "")

    def _release(self, leg_id: str) -> None:
        phone = self.leg_phone.pop(leg_id, None)
        if phone is not None:
            self.free.append(phone)
            self._offer()

    def _offer(self) -> None:
        while self.waiting and self.free:
            caller = self.waiting.popleft()
            phone = self.free.popleft()
            self._legs += 1
            leg_id = f"agentleg-bench-{self._legs}"
            self.leg_phone[leg_id] = phone
            self._send(
                "Originate",
                actions.originate_agent_leg(
                    leg_id=leg_id,
                    call_id=f"bench{self._legs}",
                    agent_target=phone,
                    caller_channel=caller,
                    ring_timeout_s=RING_TIMEOUT_S,
                    caller_id_number="+12025550100",
                    caller_id_name="Bench Caller",
                ),
            )


async def _drive(
    scenario: Scenario, profile: bool
) -> tuple[dict[str, Any], AnsweringClient, float, float]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(
        target=_simulator_process,
        args=(child, scenario.model_dump_json(), profile),
        name="pbxsim-bench",
    )
    process.start()
    loop = asyncio.get_running_loop()
    try:
        port = await loop.run_in_executor(None, parent.recv)
        client = AnsweringClient([dial for dial, _ in scenario.own_phones()])
        reader = await client.connect(port)
        reading = asyncio.create_task(client.read(reader))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        parent.send("go")
        await loop.run_in_executor(None, parent.recv)  # arrivals over
        events_in_arrivals = client.events
        stats: dict[str, Any] = await loop.run_in_executor(None, parent.recv)
        stats["events_in_arrivals"] = events_in_arrivals
        client_cpu, client_wall = time.process_time() - cpu0, time.perf_counter() - wall0
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await client.close()
    finally:
        await loop.run_in_executor(None, process.join, 30)
        if process.is_alive():
            process.kill()
    return stats, client, client_cpu, client_wall


def run(
    calls_per_s: float = 500.0,
    phones: int = 5000,
    seconds: float = 10.0,
    *,
    seed: int = 1,
    profile: bool = False,
) -> dict[str, Any]:
    scenario = bench_scenario(calls_per_s, seconds, phones, seed)
    stats, client, client_cpu, client_wall = asyncio.run(_drive(scenario, profile))
    arrival_s = stats["arrival_wall_s"]
    result: dict[str, Any] = {
        "benchmark": "pbxsim",
        "target_calls_per_s": calls_per_s,
        "phones": stats["phones"],
        "seconds": seconds,
        "calls_placed": stats["placed"],
        "calls_answered": client.answered,
        "offers_failed": client.failed,
        "calls_left_active": stats["left_active"],
        "achieved_calls_per_s": round(stats["placed"] / arrival_s, 1),
        "answered_calls_per_s": round(client.answered / arrival_s, 1),
        "events": client.events,
        "events_per_s": round(stats["events_in_arrivals"] / arrival_s),
        "sim_cpu_s_per_s": round(stats["arrival_cpu_s"] / arrival_s, 3),
        "sim_peak_rss_mb": round(stats["peak_rss_mb"], 1),
        "drain_s": round(stats["drain_wall_s"], 2),
        "client_cpu_s_per_s": round(client_cpu / client_wall, 3),
    }
    if profile:
        result["profile"] = stats.get("profile", "")
    return result
