"""Verifications per second end to end, and what the platform adds to the slowest body's time.

Requests for authentic certificates are submitted to intake at a fixed rate (open loop); each
is complete when its signed webhook reaches the employer's receiver. The platform's overhead
for a request is (webhook received - POST sent) - the slowest awarding body's answer time as
the verifier measured it (VerdictReached.contacts). Targets: >= 500 verifications/s, overhead
p99 <= 100 ms, every service under 250 MB resident.

    uv run python -m bench.end_to_end [--rate 500] [--seconds 20]
"""

import argparse
import asyncio
import time
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.stack import platform, resident_megabytes
from bench.stats import Latencies
from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE, DEMO_QUALIFICATION
from deploy.local.processes import free_port
from services.contracts.events import VerdictReached, decode
from services.contracts.topics import VERDICT_REACHED
from services.intake.admin import register_employer
from services.runtime.lifecycle import http_server
from simulator.population import population_for
from simulator.settings import SimulatorSettings

BODY_LATENCY_MS = 50


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def hook(self, request: Request) -> Response:
        data = orjson.loads(await request.body())["data"]
        self.arrived.setdefault(data["request_id"], time.perf_counter())
        if len(self.arrived) >= self.expected:
            self.done.set()
        return Response(status_code=204)


def applications(count: int) -> list[dict[str, Any]]:
    authentic = [
        c for c in population_for(SimulatorSettings().seed, "aws") if c.kind == "authentic"
    ]
    return [
        {
            "qualification_id": DEMO_QUALIFICATION,
            "region": "hebei",
            "holder": {
                "name": cert.claimed_name,
                "nationality": "CHN",
                "document_type": "passport",
                "document_number": f"E{n:08d}",
            },
            "certificate": {
                "number": cert.certificate_number,
                "issued_on": cert.issued_on.isoformat(),
            },
            "consent": True,
        }
        for n, cert in ((n, authentic[n % len(authentic)]) for n in range(count))
    ]


async def submit(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]], rate: float
) -> tuple[dict[str, float], Latencies]:
    sent: dict[str, float] = {}
    accepted = Latencies()
    start = time.perf_counter()

    async def one(n: int, body: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        began = time.perf_counter()
        response = await client.post("/v1/verifications", json=body)
        accepted.add(time.perf_counter() - began, ok=response.status_code in (200, 202))
        if response.status_code in (200, 202):
            sent.setdefault(response.json()["id"], began)

    await asyncio.gather(*(one(n, b) for n, b in enumerate(bodies)))
    return sent, accepted


async def slowest_body_seconds(bootstrap: str, wanted: set[str]) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        VERDICT_REACHED.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: dict[str, float] = {}
    try:
        async with asyncio.timeout(60):
            while len(found) < len(wanted):
                batches = await consumer.getmany(timeout_ms=500)
                for record in (r for part in batches.values() for r in part):
                    assert record.value is not None
                    event = decode(record.value, dict(record.headers))
                    if isinstance(event, VerdictReached) and str(event.request_id) in wanted:
                        seconds = [c.seconds for c in event.contacts]
                        found[str(event.request_id)] = max(seconds, default=BODY_LATENCY_MS / 1000)
    finally:
        await consumer.stop()
    return found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    env = {
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": str(BODY_LATENCY_MS),
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_P99_MS": str(BODY_LATENCY_MS),
        "INTAKE_LOG_LEVEL": "WARNING",
        "VERIFIER_LOG_LEVEL": "WARNING",
        "NOTIFIER_LOG_LEVEL": "WARNING",
        "REGISTRY_LOG_LEVEL": "WARNING",
        "SIMULATOR_LOG_LEVEL": "WARNING",
    }
    receiver = Receiver()
    receiver.expected = count
    port = free_port()
    app = Starlette(routes=[Route("/hooks", receiver.hook, methods=["POST"])])
    hook_server = http_server(app, "127.0.0.1", port)
    hook_task = asyncio.create_task(hook_server.serve())
    async with platform(extra_env=env) as (running, supervisor):
        employer = await register_employer(DEMO_EMPLOYER_CREDIT_CODE, "Bench", running.database_url)
        headers = {"Authorization": f"Bearer {employer['api_key']}"}
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(
            base_url=running.intake_url, headers=headers, limits=limits, timeout=60
        ) as client:
            await client.put("/v1/webhooks", json={"urls": [f"http://127.0.0.1:{port}/hooks"]})
            await asyncio.sleep(3)  # the notifier learns of the endpoint through Kafka
            started = time.perf_counter()
            sent, accepted = await submit(client, applications(count), args.rate)
            try:
                async with asyncio.timeout(120):
                    await receiver.done.wait()
            except TimeoutError:
                pass
            elapsed = max(receiver.arrived.values(), default=time.perf_counter()) - started
            memory = resident_megabytes(supervisor)
            bodies = await slowest_body_seconds(running.kafka_bootstrap_servers, set(sent))
    hook_server.should_exit = True
    await hook_task
    overhead = Latencies()
    for request_id, began in sent.items():
        if request_id in receiver.arrived and request_id in bodies:
            overhead.add(receiver.arrived[request_id] - began - bodies[request_id])
    completed = len(receiver.arrived)
    rate = completed / elapsed if elapsed > 0 else 0.0
    print(f"submitted {count} at {args.rate:.0f}/s; {accepted.report('intake accepted')}")
    print(
        f"end to end: {completed}/{count} verified in {elapsed:.1f} s = {rate:.0f}/s "
        f"[target >= 500/s: {'met' if rate >= 500 else 'NOT met'}]"
    )
    print(
        f"platform overhead over the slowest body: p50 {overhead.percentile(50) * 1000:.0f} ms, "
        f"p99 {overhead.percentile(99) * 1000:.0f} ms "
        f"[target p99 <= 100 ms: {'met' if overhead.percentile(99) <= 0.1 else 'NOT met'}]"
    )
    for name, mb in sorted(memory.items()):
        print(f"resident memory {name}: {mb:.0f} MB{'' if mb < 250 else '  OVER 250 MB'}")


if __name__ == "__main__":
    asyncio.run(main())
