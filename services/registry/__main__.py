"""`python -m services.registry`: the registry gRPC service and its ops endpoints."""

import asyncio
import signal

from services.registry.api.app import serve
from services.registry.settings import load_settings
from services.runtime.lifecycle import run_service
from services.runtime.observability import configure_logging


async def main() -> None:
    settings = load_settings()
    configure_logging("registry", settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(settings, stop)


if __name__ == "__main__":
    run_service(main)
