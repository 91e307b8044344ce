"""Intake acceptance rate: how many eligible requests per second intake accepts (202), end of
the HTTP path to the outbox row committed. Target: at least 1,500 requests per second.

    uv run python -m bench.intake [--seconds 15] [--connections 64]
"""

import argparse
import asyncio
import time

import httpx

from bench.stack import platform, resident_megabytes
from bench.stats import Latencies
from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE, DEMO_QUALIFICATION
from services.intake.admin import register_employer


def body(n: int) -> dict[str, object]:
    return {
        "qualification_id": DEMO_QUALIFICATION,
        "region": "beijing",
        "holder": {
            "name": "ZHANG Wei",
            "nationality": "CHN",
            "document_type": "passport",
            "document_number": f"E{n:08d}",
        },
        "certificate": {"number": f"AWS-B{n:09d}", "issued_on": "2024-01-01"},
        "consent": True,
    }


async def load(url: str, api_key: str, seconds: float, connections: int) -> Latencies:
    latencies = Latencies()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.post("/v1/verifications", json=body(next(counter)))
                latencies.add(time.perf_counter() - started, ok=response.status_code == 202)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    async with platform({"intake"}) as (running, supervisor):
        employer = await register_employer(DEMO_EMPLOYER_CREDIT_CODE, "Bench", running.database_url)
        await load(running.intake_url, employer["api_key"], 2, args.connections)  # warm-up
        result = await load(running.intake_url, employer["api_key"], args.seconds, args.connections)
        memory = resident_megabytes(supervisor)
    print(result.report("intake accepted", target_rate=1500))
    print(f"intake resident memory: {memory.get('intake', 0):.0f} MB (budget 250 MB)")


if __name__ == "__main__":
    asyncio.run(main())
