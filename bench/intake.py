"""Intake acceptance rate: eligible requests accepted per second (HTTP in, request row and
outbox event committed). Target: at least 1,500 per second. Load comes from `wrk` (a C load
generator, Debian package `wrk`) in its own process, so the client does not eat the server's CPU.
Beside the rate it prints the CPU each kind of process spent per accepted request (intake's
workers, PostgreSQL, Kafka): on a shared machine the rate moves with the neighbours' load,
the CPU per request much less.

    uv run python -m bench.intake [--seconds 15] [--connections 64]
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import psutil

from bench.stack import platform, resident_megabytes
from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE
from services.intake.admin import register_employer

SCRIPT = Path(__file__).with_name("intake_post.lua")


def run_wrk(url: str, api_key: str, seconds: float, connections: int) -> str:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(SCRIPT), url,
    ]  # fmt: skip
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"QV_API_KEY": api_key},
    )
    return result.stdout


def latency_line(report: str, percentile: str) -> str:
    match = re.search(rf"^\s*{percentile}%\s+(\S+)", report, re.MULTILINE)
    return match.group(1) if match else "?"


def cpu_seconds_by_kind() -> dict[str, float]:
    """CPU time used so far by this benchmark's child processes, by kind."""
    totals: dict[str, float] = {}
    for process in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(process.cmdline())
            times = process.cpu_times()
        except psutil.Error:
            continue
        kind = (
            "intake" if "services.intake" in cmdline
            else "postgres" if "postgres" in process.name()
            else "kafka" if "kafka.Kafka" in cmdline
            else "other"
        )  # fmt: skip
        totals[kind] = totals.get(kind, 0.0) + times.user + times.system
    return totals


async def accepted_rows(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM intake.requests"))
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="intake processes (INTAKE_WORKERS)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.intake needs wrk: apt-get install wrk")
    workers = {"INTAKE_WORKERS": str(args.workers)}
    async with platform({"intake"}, workers) as (running, supervisor):
        employer = await register_employer(DEMO_EMPLOYER_CREDIT_CODE, "Bench", running.database_url)
        key = employer["api_key"]
        await asyncio.to_thread(run_wrk, running.intake_url, key, 3, args.connections)  # warm-up
        before = await accepted_rows(running.database_url)
        cpu_before = cpu_seconds_by_kind()
        started = time.perf_counter()
        report = await asyncio.to_thread(
            run_wrk, running.intake_url, key, args.seconds, args.connections
        )
        elapsed = time.perf_counter() - started
        cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds_by_kind().items()}
        accepted = await accepted_rows(running.database_url) - before
        memory = resident_megabytes(supervisor)
    rate = accepted / elapsed
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    print(
        f"intake accepted {accepted} requests in {elapsed:.1f} s = {rate:.0f}/s "
        f"[target >= 1500/s: {'met' if rate >= 1500 else 'NOT met'}]; "
        f"latency p50 {latency_line(report, '50')} p99 {latency_line(report, '99')}; "
        f"non-2xx answers: {errors.group(1) if errors else 0}"
    )
    print(
        f"intake: {args.workers} worker processes, the first resident at "
        f"{memory.get('intake', 0):.0f} MB (budget 250 MB each)"
    )
    per_request = ", ".join(
        f"{kind} {1000 * seconds / max(accepted, 1):.2f}" for kind, seconds in sorted(cpu.items())
    )
    print(f"CPU ms per accepted request: {per_request}")


if __name__ == "__main__":
    asyncio.run(main())
