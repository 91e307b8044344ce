"""What the operators' console costs: its pages' render time, and the platform's rate beside it.

(a) Server render time of each console page and of each live fragment and chart series it
    polls: p50 and p99 over N sequential requests from a signed-in operator on loopback, with
    data present (the verifications of part b). Target: under 300 ms.
(b) `bench.end_to_end`'s rate (verifications per second, wrk -> intake -> ... -> the employer's
    webhook) with no console open; with one console open, the operator moving to another page
    every few seconds (each loaded with its fragments and chart series, as the browser asks for
    them); and, the worst case, with every page open at once, each refreshed every few seconds.
    Phases alternate on one platform, each round in another order (none, one, every; one,
    every, none; ...), so that none is favoured by a warmer or an emptier database. Allowed:
    at most 3 % lower with the console. On a machine shared with other work the rate is
    noisy, so each phase also counts the CPU time the platform's own processes (services,
    PostgreSQL, Kafka) spent per verification; and at the end, with no load, the CPU the
    refreshes alone cost the platform (the console and PostgreSQL above all) as a share of
    the machine: what they can take from a CPU-bound platform, whatever else the machine
    runs.

    uv run python -m bench.console [--seconds 15] [--rounds 3] [--refresh 3] [--requests 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from starlette.applications import Starlette
from starlette.routing import Route

from bench.end_to_end import Receiver, accepted, await_outcomes, certificates_lua, run_wrk
from bench.stack import platform
from bench.stats import Latencies
from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE
from deploy.local.platform import Platform
from deploy.local.processes import free_port
from deploy.local.supervisor import Supervisor
from services.console.admin import add as add_console_operator
from services.console.domain.roles import Role
from services.intake.admin import register_employer
from services.runtime.lifecycle import http_server

# The console's sections, as its navigation links them.
PAGES = (
    "/",
    "/topics",
    "/dead-letters",
    "/flow",
    "/bodies",
    "/regions",
    "/catalogue",
    "/codes",
    "/audit",
)
RENDER_TARGET_SECONDS = 0.300
ALLOWED_DROP = 0.03
OPERATOR = "bench-operator"
PASSWORD = "bench operator pass phrase"
CSRF_FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
# What a page's browser asks for again by itself: htmx fragments and the charts' series.
POLLED = re.compile(r'(?:hx-get|data-chart-url)="([^"]+)"')
HTMX_HEADERS = {"HX-Request": "true"}


@dataclass
class Surface:
    """A console page and what it polls, as the browser would load them."""

    page: str
    polled: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def signed_in(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        form = (await client.get("/sign-in")).raise_for_status()
        token = CSRF_FIELD.search(form.text)
        if token is None:
            raise RuntimeError("the console's sign-in form carries no CSRF token")
        answer = await client.post(
            "/sign-in",
            data={"csrftoken": token.group(1), "username": OPERATOR, "password": PASSWORD},
        )
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in refused: {answer.status_code}")
        yield client


async def discover(client: httpx.AsyncClient) -> tuple[list[Surface], list[str]]:
    """The pages the console serves, each with what it polls; and those it does not serve."""
    served: list[Surface] = []
    missing: list[str] = []
    for path in PAGES:
        answer = await client.get(path)
        if answer.status_code == 404:
            missing.append(path)
            continue
        answer.raise_for_status()
        polled = list(dict.fromkeys(POLLED.findall(answer.text)))
        served.append(Surface(path, [p.replace("&amp;", "&") for p in polled]))
    return served, missing


@dataclass(frozen=True)
class Fetched:
    seconds: float  # until the whole answer was read
    ok: bool  # a 200
    size: int  # bytes of the body


async def fetch(client: httpx.AsyncClient, path: str, polled: bool) -> Fetched:
    started = time.perf_counter()
    try:
        answer = await client.get(path, headers=HTMX_HEADERS if polled else None)
    except httpx.HTTPError:
        return Fetched(time.perf_counter() - started, False, 0)
    return Fetched(time.perf_counter() - started, answer.status_code == 200, len(answer.content))


@dataclass
class Measured:
    path: str
    latencies: Latencies
    size: int


async def render_times(
    client: httpx.AsyncClient, surfaces: list[Surface], requests: int
) -> list[Measured]:
    measured: list[Measured] = []
    for surface in surfaces:
        for path, polled in [(surface.page, False)] + [(p, True) for p in surface.polled]:
            fetched = await fetch(client, path, polled)  # warm: templates compiled, connected
            latencies = Latencies()
            for _ in range(requests):
                fetched = await fetch(client, path, polled)
                latencies.add(fetched.seconds, fetched.ok)
            measured.append(Measured(path, latencies, fetched.size))
    return measured


def print_render_table(measured: list[Measured], missing: list[str]) -> None:
    width = max([len(m.path) for m in measured] + [len(path) for path in missing] + [4])
    print(
        f"{'path':<{width}}  {'n':>4}  {'failed':>6}  {'KB':>6}  {'p50 ms':>7}  {'p99 ms':>7}  "
        f"target"
    )
    for m in measured:
        p50, p99 = m.latencies.percentile(50), m.latencies.percentile(99)
        met = p99 < RENDER_TARGET_SECONDS and not m.latencies.failures
        print(
            f"{m.path:<{width}}  {len(m.latencies.samples):>4}  {m.latencies.failures:>6}  "
            f"{m.size / 1000:>6.1f}  {p50 * 1000:>7.1f}  {p99 * 1000:>7.1f}  "
            f"< 300 ms p99: {'met' if met else 'NOT met'}"
        )
    for path in missing:
        print(f"{path:<{width}}  not served by this console (404)")


@dataclass
class Watcher:
    """The console open in a browser. `every_page`: one tab on each page, each refreshing the
    whole page with its fragments and chart series every `refresh` seconds (the worst case).
    Otherwise one tab, the operator moving on to the next page every `refresh` seconds: that
    page is loaded with its fragments and chart series, as htmx and the charts ask for them."""

    client: httpx.AsyncClient
    surfaces: list[Surface]
    refresh: float
    every_page: bool
    requests: int = 0
    failures: int = 0
    _next: int = 0

    @property
    def name(self) -> str:
        return "every page open" if self.every_page else "one console open"

    def describe(self) -> str:
        what = "every page" if self.every_page else "the next page"
        return (
            f"{self.name}: {what} with its fragments and charts each {self.refresh:g} s, "
            f"{self.requests} requests ({self.failures} failed)"
        )

    async def run(self) -> None:
        while True:
            cycle_started = time.monotonic()
            if self.every_page:
                surfaces = self.surfaces
            else:
                surfaces = [self.surfaces[self._next % len(self.surfaces)]]
                self._next += 1
            for surface in surfaces:
                for path, polled in [(surface.page, False)] + [(p, True) for p in surface.polled]:
                    fetched = await fetch(self.client, path, polled)
                    self.requests += 1
                    self.failures += not fetched.ok
            await asyncio.sleep(max(0.0, self.refresh - (time.monotonic() - cycle_started)))


CpuSnapshot = dict[str, dict[int, float]]  # part -> pid -> CPU seconds used so far


@dataclass
class PlatformProcesses:
    """The platform's processes by part: each service (with its workers), PostgreSQL and Kafka
    (found by the benchmark's work directory in their command line), with their children,
    looked up again at each snapshot: a database connection opened since counts too."""

    supervisor: Supervisor
    work: str

    def roots(self) -> dict[str, list[psutil.Process]]:
        parts: dict[str, list[psutil.Process]] = {}
        for name in self.supervisor.names:
            if (pid := self.supervisor.pid(name)) is not None and psutil.pid_exists(pid):
                parts[name] = [psutil.Process(pid)]
        for process in psutil.process_iter(["cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if self.work in cmdline:
                parts.setdefault("kafka" if "kafka" in cmdline else "postgres", []).append(process)
        return parts

    def snapshot(self) -> CpuSnapshot:
        used: CpuSnapshot = {}
        for part, roots in self.roots().items():
            for process in (p for root in roots for p in [root, *root.children(recursive=True)]):
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    used.setdefault(part, {})[process.pid] = times.user + times.system
        return used


def cpu_spent(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """CPU seconds each part used between two snapshots (a process started since: all of it)."""
    return {
        part: sum(t - before.get(part, {}).get(pid, 0.0) for pid, t in pids.items())
        for part, pids in after.items()
    }


@dataclass
class Phase:
    rate: float
    verified: int
    submitted: int
    cpu: dict[str, float]

    def cpu_ms_per_verification(self, part: str | None = None) -> float:
        spent = sum(self.cpu.values()) if part is None else self.cpu.get(part, 0.0)
        return spent / max(self.verified, 1) * 1000

    def describe(self) -> str:
        busiest = sorted(self.cpu, key=lambda part: -self.cpu[part])[:4]
        return (
            f"{self.rate:.0f}/s ({self.verified}/{self.submitted} verified); CPU per "
            f"verification {self.cpu_ms_per_verification():.1f} ms ("
            + ", ".join(f"{p} {self.cpu_ms_per_verification(p):.1f}" for p in busiest)
            + f", console {self.cpu_ms_per_verification('console'):.1f})"
        )


@dataclass
class Load:
    """bench.end_to_end's load: wrk submits verifications for `seconds`; each one counts once
    its webhook reached the receiver."""

    running: Platform
    processes: PlatformProcesses
    receiver: Receiver
    api_key: str
    certs: Path
    seconds: int
    connections: int
    seen: set[str] = field(default_factory=set)

    async def run(self) -> Phase:
        """One run of the load: its rate, and the CPU the platform spent until it was done."""
        cpu_before = self.processes.snapshot()
        await asyncio.to_thread(
            run_wrk, self.running.intake_url, self.api_key, self.certs, self.seconds,
            self.connections,
        )  # fmt: skip
        accepted_at = {
            request_id: at
            for request_id, at in (await accepted(self.running.database_url)).items()
            if request_id not in self.seen
        }
        self.seen |= accepted_at.keys()
        await await_outcomes(self.receiver, set(accepted_at))
        cpu = cpu_spent(cpu_before, self.processes.snapshot())
        done = [r for r in accepted_at if r in self.receiver.arrived]
        if not done:
            return Phase(0.0, 0, len(accepted_at), cpu)
        elapsed = max(self.receiver.arrived[r] for r in done) - min(accepted_at[r] for r in done)
        rate = len(done) / elapsed if elapsed > 0 else 0.0
        return Phase(rate, len(done), len(accepted_at), cpu)


async def compare(load: Load, watchers: list[Watcher], rounds: int) -> None:
    without: list[Phase] = []
    beside: dict[str, list[Phase]] = {watcher.name: [] for watcher in watchers}
    print(f"warm-up (not counted): {(await load.run()).describe()}")
    # Each round starts one later in the order: the database grows from phase to phase, so a
    # fixed order would favour whichever phase comes first.
    order: list[Watcher | None] = [None, *watchers]
    for round_number in range(rounds):
        shift = round_number % len(order)
        for watcher in order[shift:] + order[:shift]:
            if watcher is None:
                without.append(await load.run())
                print(f"round {round_number + 1}, no console open: {without[-1].describe()}")
            else:
                async with asyncio.TaskGroup() as group:
                    watching = group.create_task(watcher.run())
                    beside[watcher.name].append(await load.run())
                    watching.cancel()
                phase = beside[watcher.name][-1]
                print(f"round {round_number + 1}, {watcher.name}: {phase.describe()}")
            await asyncio.sleep(2)
    rate = statistics.fmean(p.rate for p in without)
    cpu = statistics.fmean(p.cpu_ms_per_verification() for p in without)
    print(f"\nno console open: {rate:.0f}/s, platform CPU {cpu:.1f} ms per verification")
    for watcher in watchers:
        phases = beside[watcher.name]
        print(watcher.describe())
        report_against(rate, cpu, without, watcher.name, phases)


def report_against(
    rate: float, cpu: float, without: list[Phase], name: str, phases: list[Phase]
) -> None:
    rate_beside = statistics.fmean(p.rate for p in phases)
    cpu_beside = statistics.fmean(p.cpu_ms_per_verification() for p in phases)
    drop = (rate - rate_beside) / rate if rate > 0 else float("nan")
    print(
        f"  end to end {rate_beside:.0f}/s against {rate:.0f}/s: {-drop * 100:+.1f} % "
        f"[allowed: at most 3 % lower: {'met' if drop <= ALLOWED_DROP else 'NOT met'}]"
    )
    parts = sorted({part for phase in without + phases for part in phase.cpu})
    change = {
        part: statistics.fmean(p.cpu_ms_per_verification(part) for p in phases)
        - statistics.fmean(p.cpu_ms_per_verification(part) for p in without)
        for part in parts
    }
    by_change = sorted(parts, key=lambda part: -change[part])[:4]
    print(
        f"  platform CPU {cpu_beside:.1f} ms per verification against {cpu:.1f} ms: "
        f"{(cpu_beside - cpu) / cpu * 100:+.1f} % (most: "
        + ", ".join(f"{part} {change[part]:+.1f} ms" for part in by_change)
        + ")"
    )


async def idle_cost(processes: PlatformProcesses, watchers: list[Watcher], seconds: float) -> None:
    """The CPU the refreshes alone cost, with no load: each watcher for `seconds` against as
    long with none. Far less noisy than a rate on a shared machine."""
    cores = psutil.cpu_count() or 1

    async def spent(watcher: Watcher | None) -> dict[str, float]:
        before = processes.snapshot()
        async with asyncio.TaskGroup() as group:
            watching = group.create_task(watcher.run()) if watcher else None
            await asyncio.sleep(seconds)
            if watching is not None:
                watching.cancel()
        return cpu_spent(before, processes.snapshot())

    quiet = await spent(None)
    print(f"\nwith no load, {seconds:g} s each (CPU as a share of one core):")
    print(f"  no console open: platform {sum(quiet.values()) / seconds * 100:.1f} %")
    for watcher in watchers:
        busy = await spent(watcher)
        extra = {part: (busy.get(part, 0.0) - quiet.get(part, 0.0)) / seconds for part in busy}
        total = sum(extra.values())
        most = sorted(extra, key=lambda part: -extra[part])[:3]
        print(
            f"  {watcher.name}: platform +{total * 100:.1f} % of a core = "
            f"{total / cores * 100:.1f} % of the machine's {cores} ("
            + ", ".join(f"{part} {extra[part] * 100:+.1f} %" for part in most)
            + ")"
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15, help="load per phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="phases none, one, every page")
    parser.add_argument("--refresh", type=float, default=3.0, help="console refresh, s (2-5)")
    parser.add_argument("--requests", type=int, default=40, help="per page and fragment")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="refreshes, no load")
    parser.add_argument(
        "--watch",
        nargs="+",
        default=list(PAGES),
        metavar="PATH",
        help="the pages the open console refreshes (default: every page)",
    )
    args = parser.parse_args()
    quiet = {
        f"{s}_LOG_LEVEL": "WARNING"
        for s in ("INTAKE", "VERIFIER", "NOTIFIER", "REGISTRY", "CONSOLE", "SIMULATOR")
    }
    env = quiet | {
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "50",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_P99_MS": "50",
        "INTAKE_WORKERS": "2",
    }
    receiver = Receiver()
    hook_port = free_port()
    hooks = Starlette(routes=[Route("/hooks", receiver.hook, methods=["POST"])])
    hook_server = http_server(hooks, "127.0.0.1", hook_port)
    hook_task = asyncio.create_task(hook_server.serve())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with platform(extra_env=env) as (running, supervisor):
                assert running.event_keys_dir is not None  # bench.stack makes them in its work dir
                processes = PlatformProcesses(supervisor, str(running.event_keys_dir.parent))
                load = await prepare_load(running, processes, receiver, hook_port, Path(tmp), args)
                await add_console_operator(
                    OPERATOR, "Bench Operator", Role.OPERATOR, PASSWORD, running.database_url
                )
                async with signed_in(running.console_url) as client:
                    surfaces, missing = await discover(client)
                    print(f"console pages: {', '.join(s.page for s in surfaces)}")
                    watched = [s for s in surfaces if s.page in args.watch]
                    print(f"the open console refreshes: {', '.join(s.page for s in watched)}")
                    watchers = [
                        Watcher(client, watched, args.refresh, every_page=False),
                        Watcher(client, watched, args.refresh, every_page=True),
                    ]
                    await compare(load, watchers, args.rounds)
                    await idle_cost(processes, watchers, args.idle_seconds)
                    print(f"\nrender time, {args.requests} requests each, after the load above:")
                    print_render_table(await render_times(client, surfaces, args.requests), missing)
    finally:
        hook_server.should_exit = True
        await hook_task


async def prepare_load(
    running: Platform,
    processes: PlatformProcesses,
    receiver: Receiver,
    hook_port: int,
    tmp: Path,
    args: argparse.Namespace,
) -> Load:
    employer = await register_employer(DEMO_EMPLOYER_CREDIT_CODE, "Bench", running.database_url)
    headers = {"Authorization": f"Bearer {employer['api_key']}"}
    async with httpx.AsyncClient(base_url=running.intake_url, headers=headers) as client:
        hook_url = f"http://127.0.0.1:{hook_port}/hooks"
        (await client.put("/v1/webhooks", json={"urls": [hook_url]})).raise_for_status()
    await asyncio.sleep(3)  # the notifier learns of the endpoint through Kafka
    return Load(
        running, processes, receiver, employer["api_key"], certificates_lua(tmp), args.seconds,
        args.connections,
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
