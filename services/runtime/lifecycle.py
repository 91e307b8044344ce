"""Running a service: its long-lived loops and HTTP servers together, until SIGTERM or SIGINT.

A loop that fails because PostgreSQL or Kafka is away is restarted (see `resilience`); if one
fails for any other reason the whole service stops with an error, so the supervisor sees it
and can restart it; nothing runs on unnoticed.
"""

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any

import uvicorn
import uvloop

from services.runtime.resilience import Loops, keep_running

log = logging.getLogger(__name__)


class HttpServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `run_until_stopped`."""

    def __init__(self, config: uvicorn.Config, shared_socket: socket.socket | None = None):
        super().__init__(config)
        self._shared_socket = shared_socket

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        shared = [self._shared_socket] if self._shared_socket else None
        await super().serve(sockets or shared)


def http_server(
    app: Any,
    host: str,
    port: int,
    *,
    reuse_port: bool = False,
    trusted_proxies: Sequence[str] = (),
) -> HttpServer:
    """`reuse_port`: several processes serve one port, the kernel spreading connections.
    `trusted_proxies`: peers whose X-Forwarded-For is believed; by default none (uvicorn
    alone would believe any process on 127.0.0.1)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
    )
    return HttpServer(config, _reuse_port_socket(host, port) if reuse_port else None)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: the event loop then turns Nagle off on accepted connections.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


def start_sibling_workers(module: str, count: int, marker: str) -> list[subprocess.Popen[bytes]]:
    """Starts `count` more processes of `module`, marked by the env var `marker`; each dies
    with this process (Linux parent-death signal), so none outlives it."""
    return [
        subprocess.Popen(
            [sys.executable, "-m", module],
            env=os.environ | {marker: str(n)},
            preexec_fn=_die_with_parent,
        )
        for n in range(1, count + 1)
    ]


def _die_with_parent() -> None:
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


async def run_until_stopped(
    loops: Mapping[str, Callable[[], Awaitable[None]]],
    servers: list[HttpServer],
    states: Loops | None = None,
) -> None:
    """Runs each named loop under `keep_running`, reporting its state in `states` (the one
    the service's health endpoints read), and the servers, until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    states = Loops() if states is None else states
    event_loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        event_loop.add_signal_handler(signum, stop.set)
    async with asyncio.TaskGroup() as group:
        running = [
            group.create_task(keep_running(name, loop, states)) for name, loop in loops.items()
        ]
        serving = [group.create_task(server.serve()) for server in servers]
        group.create_task(_stop_when(stop, servers, running, serving))


async def _stop_when(
    stop: asyncio.Event,
    servers: list[HttpServer],
    running: list[asyncio.Task[None]],
    serving: list[asyncio.Task[None]],
) -> None:
    await stop.wait()
    log.info("stopping")
    for server in servers:
        server.should_exit = True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await asyncio.gather(*serving, return_exceptions=True)
    for task in running:
        task.cancel()


def run_service(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Runs a service's main coroutine on uvloop, the faster event loop."""
    uvloop.run(main())
