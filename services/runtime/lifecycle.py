"""Running a service: its long-lived tasks and HTTP servers together, until SIGTERM or SIGINT.

If any task fails the whole service stops with an error, so the supervisor sees it and can
restart it; nothing runs on unnoticed.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import uvicorn
import uvloop

log = logging.getLogger(__name__)


class HttpServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `run_until_stopped`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def http_server(app: Any, host: str, port: int) -> HttpServer:
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
    )
    return HttpServer(config)


async def run_until_stopped(
    tasks: list[Coroutine[Any, Any, None]], servers: list[HttpServer]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with asyncio.TaskGroup() as group:
        running = [group.create_task(task) for task in tasks]
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
