"""Starts and stops the simulator's HTTP and SMTP servers in the running event loop."""

import asyncio
import contextlib
import json
import logging
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import uvicorn
from aiosmtpd.smtp import SMTP
from starlette.types import ASGIApp

from simulator.app import build_app
from simulator.context import SimulatorContext
from simulator.enquiry_desk import EnquiryDesk, EnquiryMailbox
from simulator.faults import FaultBook, parse_fault_document
from simulator.metrics import SimulatorMetrics
from simulator.settings import SimulatorSettings

_log = logging.getLogger("simulator")


class _UvicornWithoutSignals(uvicorn.Server):
    """uvicorn without its own signal handling: the owner of the loop decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedHttpServer:
    """A uvicorn server serving `app` on an already bound socket inside the running loop."""

    def __init__(self, app: ASGIApp, sock: socket.socket, grace_seconds: float) -> None:
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,  # the access log would print query strings such as holder names
            timeout_graceful_shutdown=max(1, round(grace_seconds)),
        )
        self._server = _UvicornWithoutSignals(config)
        self._socket = sock
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    async def start(self) -> None:
        task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        self._task = task
        while not self._server.started:
            if task.done():
                await task  # surfaces the start-up error
                raise RuntimeError("the HTTP server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket; port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP, which a
    # socket made with proto 0 is not; Linux copies it from the listening socket instead.
    # Without it every keep-alive answer waits ~40 ms for a delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@dataclass
class RunningSimulator:
    settings: SimulatorSettings
    context: SimulatorContext
    smtp_port: int
    _http: EmbeddedHttpServer
    _smtp: asyncio.Server
    _desk: EnquiryDesk
    _client: httpx.AsyncClient

    @property
    def http_port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.http_host}:{self.http_port}"

    async def stop(self) -> None:
        self._smtp.close()
        await self._http.stop()
        await self._desk.close()
        await self._client.aclose()
        await self._smtp.wait_closed()


def build_fault_book(settings: SimulatorSettings) -> FaultBook:
    if settings.faults_file is None:
        return FaultBook(seed=settings.seed, default=settings.default_faults, clock=time.monotonic)
    document = json.loads(settings.faults_file.read_text(encoding="utf-8"))
    return parse_fault_document(document, settings.seed, time.monotonic, settings.default_faults)


async def start_simulator(settings: SimulatorSettings) -> RunningSimulator:
    """Binds both servers (port 0 picks a free one) and returns once they accept requests."""
    ctx = SimulatorContext(settings, build_fault_book(settings), SimulatorMetrics())
    client = httpx.AsyncClient(timeout=httpx.Timeout(5.0))
    desk = EnquiryDesk(ctx, client)
    smtp = await asyncio.get_running_loop().create_server(
        lambda: SMTP(EnquiryMailbox(desk), hostname="bodies.test", enable_SMTPUTF8=True),
        host=settings.smtp_host,
        port=settings.smtp_port,
    )
    try:
        http = EmbeddedHttpServer(
            build_app(ctx, desk),
            bind_socket(settings.http_host, settings.http_port),
            settings.shutdown_grace_seconds,
        )
        await http.start()
    except BaseException:
        smtp.close()
        await client.aclose()
        raise
    running = RunningSimulator(
        settings, ctx, smtp.sockets[0].getsockname()[1], http, smtp, desk, client
    )
    _log.info(
        "started",
        extra={
            "http_port": running.http_port,
            "smtp_port": running.smtp_port,
            "seed": settings.seed,
        },
    )
    return running


async def serve_until_signalled(settings: SimulatorSettings) -> None:
    running = await start_simulator(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    _log.info("stopping")
    await running.stop()
    _log.info("stopped")
