"""A small asyncio process supervisor for the local runner and end-to-end tests.

Each child is started in its own process group and armed with a parent-death signal, so
it dies with the supervising process even if that one is killed without cleanup (its own
grandchildren are reached by ``stop``/``kill``, which signal the whole group, but not by
the parent-death signal). Usage::

    async with Supervisor() as supervisor:
        await supervisor.start(ServiceSpec("intake", [sys.executable, "-m", "services.intake"],
                                           health_url="http://127.0.0.1:8001/healthz",
                                           log_path=logs / "intake.log"))
        await supervisor.kill("intake")      # crash it at any instant
        await supervisor.restart("intake")   # and bring it back, waiting for health

A spec with a ``restart`` policy is restarted whenever it exits without being asked to
(a crash, an OOM kill, a ``kill -9`` from outside), after an exponential backoff; too many
exits within the policy's window is a crash loop: the supervisor gives up on the service,
logs it as an error and reports it through :meth:`Supervisor.gave_up`. A restarted process is
judged by its exits alone: not ready within ``startup_timeout`` (a database or broker outage
that outlasts it), it is left running and reported as restarted once healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from deploy.local.processes import child_setup, log_tail

HealthCheck = Callable[[], Awaitable[bool]]

log = logging.getLogger(__name__)


class ServiceError(RuntimeError):
    """A supervised service could not be started, or was asked for while unknown."""


@dataclass(frozen=True)
class RestartPolicy:
    """Restart a service that exited by itself after ``initial_backoff`` seconds, doubling
    with each recent exit up to ``max_backoff``; more than ``max_restarts`` restarts within
    ``window_seconds`` is a crash loop, and the service is given up."""

    max_restarts: int = 5
    window_seconds: float = 60.0
    initial_backoff: float = 0.5
    max_backoff: float = 15.0

    def backoff(self, recent_exits: int) -> float:
        return float(min(self.initial_backoff * 2 ** max(recent_exits - 1, 0), self.max_backoff))


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one service.

    ``env`` is layered over the supervisor's environment unless ``inherit_env`` is False.
    Output goes to ``log_path`` (appended) or, when it is None, to the supervisor's own
    stdout/stderr. Health is ``health_url`` answering 2xx, or ``health_check`` returning
    True; with neither, the service counts as healthy as soon as it is spawned.
    """

    name: str
    argv: Sequence[str]
    health_url: str | None = None
    health_check: HealthCheck | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    inherit_env: bool = True
    cwd: Path | None = None
    log_path: Path | None = None
    startup_timeout: float = 30.0
    restart: RestartPolicy | None = None

    def full_env(self) -> dict[str, str]:
        base = dict(os.environ) if self.inherit_env else {}
        return base | dict(self.env)


@dataclass
class _Running:
    spec: ServiceSpec
    process: asyncio.subprocess.Process
    stopping: bool = False  # asked to stop or die: not a crash


class Supervisor:
    """Starts, health-checks, kills, restarts and stops named child processes."""

    def __init__(
        self,
        *,
        grace_period: float = 5.0,
        poll_interval: float = 0.1,
        death_signal: signal.Signals = signal.SIGKILL,
    ) -> None:
        self.grace_period = grace_period
        self.poll_interval = poll_interval
        self.death_signal = death_signal
        self._specs: dict[str, ServiceSpec] = {}
        self._running: dict[str, _Running] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._restarts: dict[str, int] = {}
        self._given_up: asyncio.Queue[ServiceError] = asyncio.Queue()

    # ------------------------------------------------------------------ queries

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def pid(self, name: str) -> int | None:
        running = self._running.get(name)
        return running.process.pid if running is not None else None

    def is_running(self, name: str) -> bool:
        running = self._running.get(name)
        return running is not None and running.process.returncode is None

    def returncode(self, name: str) -> int | None:
        """Exit code of the current process of ``name`` if it has exited, else None."""
        running = self._running.get(name)
        return running.process.returncode if running is not None else None

    def restarts(self, name: str) -> int:
        """How often the restart policy has restarted ``name``."""
        return self._restarts.get(name, 0)

    async def gave_up(self) -> ServiceError:
        """Waits until a service is given up as crash-looping; says which and why."""
        return await self._given_up.get()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, spec: ServiceSpec) -> None:
        """Spawn ``spec`` and wait until healthy; on failure the child is stopped and
        :class:`ServiceError` carries the tail of its log."""
        if self.is_running(spec.name):
            raise ServiceError(f"service {spec.name!r} is already running")
        self._specs[spec.name] = spec
        self._running[spec.name] = _Running(spec, await self._spawn(spec))
        try:
            await self.wait_healthy(spec.name)
        except BaseException:
            await self.stop(spec.name)
            raise
        if spec.restart is not None:
            self._watchers[spec.name] = asyncio.create_task(self._keep_up(spec, spec.restart))

    async def _keep_up(self, spec: ServiceSpec, policy: RestartPolicy) -> None:
        """Restarts ``spec`` each time it exits by itself, until it crash-loops."""
        exits: deque[float] = deque()
        while True:
            running = self._running[spec.name]
            code = await running.process.wait()
            if running.stopping:
                return
            now = time.monotonic()
            exits.append(now)
            while exits and exits[0] < now - policy.window_seconds:
                exits.popleft()
            if len(exits) > policy.max_restarts:
                await self._give_up(spec, policy, code, len(exits))
                return
            delay = policy.backoff(len(exits))
            log.warning(
                "service exited; restarting",
                extra={"service": spec.name, "exit_code": code, "restart_in_seconds": delay},
            )
            await asyncio.sleep(delay)
            await self._respawn(spec)

    async def _respawn(self, spec: ServiceSpec) -> None:
        """Spawns ``spec`` again and reports when it is healthy.

        A restarted process is never killed for not being ready: the outage that took it down
        (PostgreSQL or Kafka away) may outlast any start-up timeout, and the service waits it
        out by itself. Only its exits count toward the crash-loop limit, in :meth:`_keep_up`.
        """
        try:
            self._running[spec.name] = _Running(spec, await self._spawn(spec))
            self._restarts[spec.name] = self.restarts(spec.name) + 1
            await self.wait_healthy(spec.name)
        except ServiceError as error:
            process = self._running[spec.name].process
            if process.returncode is not None:  # did not spawn, or exited: one more exit
                reason = str(error).splitlines()[0]
                log.warning(
                    "restarted service not healthy", extra={"service": spec.name, "reason": reason}
                )
                return
            log.warning(
                "restarted service not ready yet; left running to wait out its dependencies",
                extra={"service": spec.name, "waited_seconds": spec.startup_timeout},
            )
            try:
                await self.wait_healthy(spec.name, limit_seconds=math.inf)
            except ServiceError:  # it exited meanwhile: _keep_up counts it
                return
        log.info(
            "service restarted",
            extra={
                "service": spec.name,
                "pid": self.pid(spec.name),
                "restarts": self.restarts(spec.name),
            },
        )

    async def _give_up(
        self, spec: ServiceSpec, policy: RestartPolicy, code: int, exits: int
    ) -> None:
        error = ServiceError(
            f"service {spec.name!r} is crash-looping: {exits} exits within "
            f"{policy.window_seconds:g}s (last with exit code {code}); giving up on it\n"
            f"{self._output_tail(spec)}"
        )
        log.error(
            "service crash-looping; not restarted again",
            extra={"service": spec.name, "exit_code": code, "exits": exits},
        )
        await self._given_up.put(error)

    async def start_all(self, specs: Sequence[ServiceSpec]) -> None:
        """Start several services concurrently; if one fails, the others are stopped too."""
        try:
            async with asyncio.TaskGroup() as group:
                for spec in specs:
                    group.create_task(self.start(spec))
        except BaseExceptionGroup as failures:
            await self.stop_all()
            first = failures.exceptions[0]
            if len(failures.exceptions) == 1:
                raise first from None
            raise ServiceError(
                "; ".join(str(error).splitlines()[0] for error in failures.exceptions)
            ) from first

    async def _spawn(self, spec: ServiceSpec) -> asyncio.subprocess.Process:
        log_file = None
        if spec.log_path is not None:
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = spec.log_path.open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT if log_file is not None else None,
                env=spec.full_env(),
                cwd=spec.cwd,
                start_new_session=True,
                preexec_fn=child_setup(self.death_signal),
            )
        except OSError as error:
            raise ServiceError(f"could not spawn service {spec.name!r}: {error}") from error
        finally:
            if log_file is not None:
                log_file.close()  # the child holds its own copy of the descriptor

    async def wait_healthy(self, name: str, limit_seconds: float | None = None) -> None:
        """Poll until healthy; raise :class:`ServiceError` with the log tail if the child
        exits first or ``limit_seconds`` (default: the spec's ``startup_timeout``) pass."""
        running = self._require_running(name)
        spec = running.spec
        limit = spec.startup_timeout if limit_seconds is None else limit_seconds
        deadline = time.monotonic() + limit
        async with httpx.AsyncClient(timeout=1.0, trust_env=False) as client:
            while True:
                if running.process.returncode is not None:
                    raise ServiceError(
                        f"service {name!r} exited with code {running.process.returncode} "
                        f"before becoming healthy\n{self._output_tail(spec)}"
                    )
                if await self._is_healthy(spec, client):
                    return
                if time.monotonic() >= deadline:
                    raise ServiceError(
                        f"service {name!r} was not healthy after {limit}s "
                        f"({spec.health_url or 'custom health check'})\n{self._output_tail(spec)}"
                    )
                await asyncio.sleep(self.poll_interval)

    @staticmethod
    async def _is_healthy(spec: ServiceSpec, client: httpx.AsyncClient) -> bool:
        if spec.health_check is not None and not await spec.health_check():
            return False
        if spec.health_url is None:
            return True
        try:
            response = await client.get(spec.health_url)
        except httpx.HTTPError:
            return False
        return response.is_success

    @staticmethod
    def _output_tail(spec: ServiceSpec) -> str:
        if spec.log_path is None:
            return "(its output went to the supervisor's stdout/stderr)"
        return f"last lines of {spec.log_path}:\n{log_tail(spec.log_path)}"

    async def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send ``sig`` to the service's process group and wait for it to exit."""
        running = self._require_running(name)
        running.stopping = True
        if running.process.returncode is None:
            _signal_group(running.process.pid, sig)
        return await running.process.wait()

    async def stop(self, name: str) -> int | None:
        """SIGTERM, then SIGKILL after the grace period. Returns the exit code."""
        running = self._running.get(name)
        if running is None:
            return None
        running.stopping = True
        watcher = self._watchers.pop(name, None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        process = running.process
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.grace_period)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
        returncode = await process.wait()
        # Grandchildren may still be in the group after the leader exited.
        _signal_group(process.pid, signal.SIGKILL)
        return returncode

    async def restart(self, name: str) -> None:
        """Stop the service if it still runs, then start it again from its spec."""
        spec = self._specs.get(name)
        if spec is None:
            raise ServiceError(f"unknown service {name!r}")
        await self.stop(name)
        await self.start(spec)

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.stop(name) for name in list(self._running)))

    def _require_running(self, name: str) -> _Running:
        running = self._running.get(name)
        if running is None:
            raise ServiceError(f"unknown service {name!r}; known: {sorted(self._specs)}")
        return running

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop_all()


def _signal_group(process_group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process_group, sig)
