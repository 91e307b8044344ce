"""The public check page against the JSON check it shows, in the same run on one registry.
Target: the page answers at least 70% of the JSON endpoint's rate.

Both are served by the registry's public port from the same data (real PostgreSQL, codes issued
over gRPC, every lookup audited), with the per-client rate limit lifted. Load comes from `wrk`
in its own process; the two are measured in alternating rounds so neither gets the warmer
machine, and each one's rates are summed over its rounds. On a shared machine the rates move
with the neighbours' load, so the registry's own CPU time per request is printed too: the
rate one core could sustain, which other processes hardly disturb.

    uv run python -m bench.public_check [--seconds 10] [--rounds 3] [--connections 32]
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.registry import seed_codes
from bench.stack import platform, resident_megabytes

SCRIPT = Path(__file__).with_name("public_check.lua")
TARGET = 0.7
UNLIMITED = {"REGISTRY_PUBLIC_RATE_LIMIT": "1000000/second"}


@dataclass
class Measured:
    requests: int = 0
    seconds: float = 0.0
    p99s: tuple[str, ...] = ()
    failures: int = 0
    cpu_seconds: float = 0.0  # the registry process's, user and system

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0

    @property
    def rate_per_core(self) -> float:
        return self.requests / self.cpu_seconds if self.cpu_seconds else 0.0


def run_wrk(url: str, paths_file: Path, seconds: float, connections: int) -> str:
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(SCRIPT), url,
    ]  # fmt: skip
    environment = os.environ | {"QV_PATHS_FILE": str(paths_file)}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    return done.stdout


def add_report(measured: Measured, report: str) -> None:
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", report)
    if done is None:
        raise RuntimeError(f"wrk printed no totals:\n{report}")
    unit = 1e-3 if done.group(3) == "ms" else 1.0
    measured.requests += int(done.group(1))
    measured.seconds += float(done.group(2)) * unit
    p99 = re.search(r"^\s*99%\s+(\S+)", report, re.MULTILINE)
    measured.p99s += (p99.group(1) if p99 else "?",)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    socket_errors = re.search(r"Socket errors: (.*)", report)
    measured.failures += int(errors.group(1)) if errors else 0
    if socket_errors:
        print(f"  wrk socket errors: {socket_errors.group(1)}", file=sys.stderr)


def paths_file(directory: Path, name: str, paths: list[str]) -> Path:
    path = directory / f"{name}.paths"
    path.write_text("\n".join(paths) + "\n", encoding="ascii")
    return path


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--codes", type=int, default=500)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.public_check needs wrk: apt-get install wrk")
    json_check, page = Measured(), Measured()
    async with platform({"registry"}, UNLIMITED) as (running, supervisor):
        codes = await seed_codes(running.database_url, running.public_url, args.codes)
        with tempfile.TemporaryDirectory(prefix="qv-bench-check-") as tmp:
            work = Path(tmp)
            targets = [
                (json_check, paths_file(work, "json", [f"/v1/codes/{c}" for c in codes])),
                (page, paths_file(work, "page", [f"/check?code={c}" for c in codes])),
            ]
            for _, paths in targets:  # warm-up: caches filled, code paths hot
                await asyncio.to_thread(run_wrk, running.public_url, paths, 3, args.connections)
            pid = supervisor.pid("registry")
            if pid is None:
                sys.exit("the registry is not running")
            registry = psutil.Process(pid)
            for round_number in range(args.rounds):
                ordered = targets if round_number % 2 == 0 else targets[::-1]
                for measured, paths in ordered:
                    cpu_before = _cpu_seconds(registry)
                    report = await asyncio.to_thread(
                        run_wrk, running.public_url, paths, args.seconds, args.connections
                    )
                    measured.cpu_seconds += _cpu_seconds(registry) - cpu_before
                    add_report(measured, report)
        memory = resident_megabytes(supervisor)
    ratio = page.rate / json_check.rate if json_check.rate else 0.0
    for name, measured in (
        ("JSON check  GET /v1/codes/<code>  ", json_check),
        ("check page  GET /check?code=<code>", page),
    ):
        print(
            f"{name}: {measured.rate:.0f}/s, p99 per round {', '.join(measured.p99s)}; "
            f"registry CPU {measured.cpu_ms_per_request:.2f} ms/request "
            f"(= {measured.rate_per_core:.0f}/s per core); non-2xx {measured.failures}"
        )
    per_core = page.rate_per_core / json_check.rate_per_core if json_check.rate_per_core else 0.0
    print(
        f"page / JSON: {ratio:.0%} of the rate [target >= {TARGET:.0%}: "
        f"{'met' if ratio >= TARGET else 'NOT met'}], {per_core:.0%} per core of registry CPU; "
        f"registry resident {memory.get('registry', 0):.0f} MB"
    )


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


if __name__ == "__main__":
    asyncio.run(main())
