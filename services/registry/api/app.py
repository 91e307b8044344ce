"""Composition of the running registry: pool, migrations, gRPC server and ops HTTP server."""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import uvicorn

from services.registry.api.server import GrpcServer, start_grpc_server
from services.registry.settings import RegistrySettings
from services.registry.store import MIGRATIONS, SCHEMA
from services.registry.store.codes import CodeRepository
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.observability import ops_server

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningRegistry:
    grpc: GrpcServer
    ops_port: int
    codes: CodeRepository

    @property
    def grpc_address(self) -> str:
        return self.grpc.address


class _OpsServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The registry owns SIGTERM/SIGINT and stops this server itself, after gRPC drains.
        yield


async def serve(
    settings: RegistrySettings,
    stop: asyncio.Event,
    on_ready: Callable[[RunningRegistry], None] | None = None,
) -> None:
    """Runs the registry until `stop` is set, then drains gRPC calls within the grace period."""
    async with contextlib.AsyncExitStack() as cleanup:
        pool = await create_pool(
            settings.database_url,
            SCHEMA,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
        )
        cleanup.push_async_callback(pool.close)
        await apply_migrations(pool, read_migrations(MIGRATIONS))
        codes = CodeRepository(pool)
        ops_socket = cleanup.enter_context(_listen(settings.host, settings.ops_port))
        grpc_server = await start_grpc_server(codes, settings.host, settings.grpc_port)
        cleanup.push_async_callback(grpc_server.server.stop, None)  # no-op after a clean stop
        ops = _OpsServer(
            ops_server(settings.host, settings.ops_port, {"database": codes.ping}).config
        )
        running = RunningRegistry(grpc_server, ops_socket.getsockname()[1], codes)
        log.info(
            "registry serving",
            extra={"grpc_address": running.grpc_address, "ops_port": running.ops_port},
        )
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(ops.serve(sockets=[ops_socket]))
            tasks.create_task(_stop_on(stop, grpc_server, ops, settings.grace_seconds))
            if on_ready is not None:
                on_ready(running)
    log.info("registry stopped")


@contextlib.asynccontextmanager
async def running_registry(settings: RegistrySettings) -> AsyncIterator[RunningRegistry]:
    """The registry serving in this event loop for the duration of the block (tests, runner).

    Use port 0 in `settings.grpc_port` and `settings.ops_port` to get free ports.
    """
    stop = asyncio.Event()
    ready: asyncio.Future[RunningRegistry] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, ready.set_result))
    await asyncio.wait((ready, task), return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        await task  # raises why it could not start
        raise RuntimeError("the registry stopped before it was ready")
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


async def _stop_on(
    stop: asyncio.Event, grpc_server: GrpcServer, ops: uvicorn.Server, grace: float
) -> None:
    try:
        await stop.wait()
        log.info("registry stopping", extra={"grace_seconds": grace})
        await grpc_server.stop(grace)
    finally:
        ops.should_exit = True


def _listen(host: str, port: int) -> socket.socket:
    """Listening before uvicorn starts lets early probes queue instead of being refused."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    return listener
