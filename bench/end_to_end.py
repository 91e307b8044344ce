"""Verifications per second end to end, and what the platform adds to the slowest body's time.

`wrk` (in its own process) submits requests for authentic certificates to intake for a while;
each verification is complete when its signed webhook reaches the employer's receiver. The
platform's overhead for a request is (webhook received - request accepted) - the slowest
awarding body's answer time as the verifier measured it (VerdictReached.contacts), with the
simulator answering in a fixed 50 ms. Each verification must also have its regional outcome
published (verification.outcomes.v1). Targets: >= 500 verifications/s, overhead p99 <= 100 ms
at 300 verifications/s, every service under 250 MB resident.

    uv run python -m bench.end_to_end [--seconds 15] [--connections 16]   # as fast as it goes
    uv run python -m bench.end_to_end --rate 300                          # overhead at a set rate
    uv run python -m bench.end_to_end --replicas 2     # each service as two processes, one group

CPU per verification is by kind of process: the replicas of a service are summed (as are
intake's workers).
"""

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil
from aiokafka import AIOKafkaConsumer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.stack import platform, resident_megabytes
from bench.stats import Latencies
from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE
from deploy.local.processes import free_port
from services.contracts.events import Event, OutcomePublished, VerdictReached, decode
from services.contracts.topics import OUTCOME_PUBLISHED, VERDICT_REACHED
from services.intake.admin import register_employer
from services.runtime.lifecycle import http_server
from simulator.population import population_for
from simulator.settings import SimulatorSettings

BODY_LATENCY_MS = 50
SCRIPT = Path(__file__).with_name("e2e_post.lua")


def cpu_seconds_by_process() -> dict[str, float]:
    """CPU time used so far by each kind of process on the machine (services by module)."""
    totals: dict[str, float] = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        cmdline = process.info["cmdline"] or []
        times = process.info["cpu_times"]
        if times is None:
            continue
        module = cmdline[cmdline.index("-m") + 1] if "-m" in cmdline else None
        name = module or process.info["name"] or "?"
        totals[name] = totals.get(name, 0.0) + times.user + times.system
    return totals


INFRASTRUCTURE = ("java", "postgres")


def pin_platform() -> None:
    """One core's worth of services (and the simulator) on CPU 0, one of infrastructure
    (Kafka, PostgreSQL) on CPU 1; every thread of each, since affinity is per thread. The
    load generator and this process stay free."""
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        infra = process.info["name"] in INFRASTRUCTURE
        if not infra and " -m services." not in cmdline and " -m simulator" not in cmdline:
            continue
        with contextlib.suppress(psutil.Error, OSError):
            for thread in process.threads():
                os.sched_setaffinity(thread.id, {1 if infra else 0})


class Receiver:
    """The employer's webhook endpoint: when each verification's outcome arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def hook(self, request: Request) -> Response:
        message = orjson.loads(await request.body())
        if message.get("type") == "verification.completed":
            self.arrived.setdefault(message["data"]["request_id"], time.time())
        return Response(status_code=204)


def certificates_lua(directory: Path) -> Path:
    authentic = [
        c for c in population_for(SimulatorSettings().seed, "aws") if c.kind == "authentic"
    ]
    rows = ", ".join(
        f"{{{json.dumps(c.certificate_number)}, {json.dumps(c.claimed_name)}, "
        f"{json.dumps(str(c.issued_on))}}}"
        for c in authentic
        if c.claimed_name.isascii()  # written into Lua strings and JSON as they are
    )
    path = directory / "certs.lua"
    path.write_text(f"certs = {{{rows}}}\n")
    return path


def run_wrk(
    url: str, api_key: str, certs: Path, seconds: int, connections: int, delay_ms: int = 0
) -> str:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(SCRIPT), url]
    env = os.environ | {
        "QV_API_KEY": api_key,
        "CERTS_LUA": str(certs),
        "QV_DELAY_MS": str(delay_ms),
    }
    return subprocess.run(command, capture_output=True, check=True, env=env, text=True).stdout


async def accepted(database_url: str) -> dict[str, float]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT id, accepted_at FROM intake.requests")
    finally:
        await conn.close()
    return {str(r["id"]): r["accepted_at"].timestamp() for r in rows}


async def stage_medians(database_url: str) -> str:
    """Where the time goes: accepted -> decided (relay, Kafka, verifier, bodies) as intake
    recorded it, then decided -> webhook queued (registry, Kafka, notifier) -> delivered."""
    conn = await asyncpg.connect(database_url)
    try:
        decided = await conn.fetchval(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_at - accepted_at) "
            "FROM intake.requests WHERE decided_at IS NOT NULL"
        )
        notified = await conn.fetchrow(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d.created_at - r.decided_at) "
            "AS to_queued, percentile_cont(0.5) WITHIN GROUP (ORDER BY d.delivered_at - "
            "d.created_at) AS to_delivered FROM notifier.deliveries d "
            "JOIN intake.requests r ON r.id = d.request_id WHERE d.event_type = "
            "'verification.completed'"
        )
    finally:
        await conn.close()
    assert notified is not None
    return (
        f"median accepted->decided {decided}, decided->webhook queued {notified['to_queued']}, "
        f"queued->delivered {notified['to_delivered']}"
    )


async def read_events(bootstrap: str, topic: str, wanted: set[str]) -> dict[str, Event]:
    """The events on `topic` of the requests in `wanted`, by request id (what arrives within a
    minute)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: dict[str, Event] = {}
    try:
        async with asyncio.timeout(60):
            while len(found) < len(wanted):
                batches = await consumer.getmany(timeout_ms=500)
                for record in (r for part in batches.values() for r in part):
                    assert record.value is not None
                    event = decode(record.value, dict(record.headers))
                    request_id = str(getattr(event, "request_id", ""))
                    if request_id in wanted:
                        found[request_id] = event
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return found


async def slowest_body_seconds(bootstrap: str, wanted: set[str]) -> dict[str, float]:
    verdicts = await read_events(bootstrap, VERDICT_REACHED.name, wanted)
    return {
        request_id: max((c.seconds for c in event.contacts), default=BODY_LATENCY_MS / 1000)
        for request_id, event in verdicts.items()
        if isinstance(event, VerdictReached)
    }


async def regional_outcomes(bootstrap: str, wanted: set[str]) -> int:
    """How many of `wanted` have their outcome on the regions' topic."""
    outcomes = await read_events(bootstrap, OUTCOME_PUBLISHED.name, wanted)
    return sum(isinstance(event, OutcomePublished) for event in outcomes.values())


async def await_outcomes(receiver: Receiver, expected: set[str]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(120):
            while not expected <= receiver.arrived.keys():
                await asyncio.sleep(0.2)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=int, default=0, help="submissions per second (about)")
    parser.add_argument(
        "--replicas", type=int, default=1, help="processes of each service, in one group"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="services and simulator on CPU 0, Kafka and PostgreSQL on CPU 1",
    )
    args = parser.parse_args()
    connections, delay_ms = args.connections, 0
    if args.rate:  # each connection paces itself; intake answers in a few ms
        connections = max(1, args.rate // 10)
        delay_ms = max(1, round(connections * 1000 / args.rate) - 3)
    quiet = {f"{s}_LOG_LEVEL": "WARNING" for s in ("INTAKE", "VERIFIER", "NOTIFIER", "REGISTRY")}
    env = quiet | {
        "SIMULATOR_LOG_LEVEL": "WARNING",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": str(BODY_LATENCY_MS),
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_P99_MS": str(BODY_LATENCY_MS),
        # Two intake processes either way: two workers of one replica, or one per replica.
        "INTAKE_WORKERS": "2" if args.replicas == 1 else "1",
    }
    receiver = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/hooks", receiver.hook, methods=["POST"])])
    hook_server = http_server(app, "127.0.0.1", port)
    hook_task = asyncio.create_task(hook_server.serve())
    with tempfile.TemporaryDirectory() as tmp:
        certs = certificates_lua(Path(tmp))
        async with platform(extra_env=env, replicas=args.replicas) as (running, supervisor):
            employer = await register_employer(
                DEMO_EMPLOYER_CREDIT_CODE, "Bench", running.database_url
            )
            headers = {"Authorization": f"Bearer {employer['api_key']}"}
            async with httpx.AsyncClient(base_url=running.intake_url, headers=headers) as client:
                hook_url = f"http://127.0.0.1:{port}/hooks"
                await client.put("/v1/webhooks", json={"urls": [hook_url]})
            await asyncio.sleep(3)  # the notifier learns of the endpoint through Kafka
            if args.pin:
                pin_platform()
            cpu_before = cpu_seconds_by_process()
            load = await asyncio.to_thread(
                run_wrk, running.intake_url, employer["api_key"], certs, args.seconds,
                connections, delay_ms,
            )  # fmt: skip
            print(load)
            accepted_at = await accepted(running.database_url)
            await await_outcomes(receiver, set(accepted_at))
            cpu_used = {
                name: seconds - cpu_before.get(name, 0.0)
                for name, seconds in cpu_seconds_by_process().items()
            }
            memory = resident_megabytes(supervisor)
            print(await stage_medians(running.database_url))
            bodies = await slowest_body_seconds(running.kafka_bootstrap_servers, set(accepted_at))
            published = await regional_outcomes(running.kafka_bootstrap_servers, set(accepted_at))
            print(f"regional outcomes published: {published}/{len(accepted_at)}")
    hook_server.should_exit = True
    await hook_task
    report(accepted_at, receiver.arrived, bodies, memory)
    busiest = sorted(cpu_used.items(), key=lambda item: -item[1])[:9]
    per = max(len(receiver.arrived), 1)
    print(
        f"CPU per verification (replicas of a service summed, {args.replicas} each): "
        + ", ".join(f"{name} {seconds / per * 1000:.1f} ms" for name, seconds in busiest)
    )


def report(
    accepted_at: dict[str, float],
    arrived: dict[str, float],
    bodies: dict[str, float],
    memory: dict[str, float],
) -> None:
    done = [r for r in accepted_at if r in arrived]
    elapsed = max(arrived[r] for r in done) - min(accepted_at[r] for r in done) if done else 0
    rate = len(done) / elapsed if elapsed > 0 else 0.0
    overhead = Latencies()
    for request_id in done:
        if request_id in bodies:
            overhead.add(arrived[request_id] - accepted_at[request_id] - bodies[request_id])
    print(
        f"end to end: {len(done)}/{len(accepted_at)} verified in {elapsed:.1f} s = {rate:.0f}/s "
        f"[target >= 500/s: {'met' if rate >= 500 else 'NOT met'}]"
    )
    print(
        f"platform overhead over the slowest body (accepted -> webhook received): "
        f"p50 {overhead.percentile(50) * 1000:.0f} ms, p99 {overhead.percentile(99) * 1000:.0f} ms "
        f"[target p99 <= 100 ms: {'met' if overhead.percentile(99) <= 0.1 else 'NOT met'}]"
    )
    for name, mb in sorted(memory.items()):
        print(f"resident memory {name}: {mb:.0f} MB{'' if mb < 250 else '  OVER 250 MB'}")


if __name__ == "__main__":
    asyncio.run(main())
