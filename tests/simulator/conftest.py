"""A real simulator on free ports for the whole test session, and a callback receiver."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from simulator.server import EmbeddedHttpServer, RunningSimulator, bind_socket, start_simulator
from tests.simulator.support import CallbackReceiver, simulator_settings


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(simulator_settings())
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def http(simulator: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=simulator.base_url, timeout=10.0) as client:
        yield client


@pytest.fixture
async def callback_receiver() -> AsyncIterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    app = FastAPI()

    @app.post("/callbacks")
    async def callback(request: Request) -> Response:
        if receiver.failures_left > 0:
            receiver.failures_left -= 1
            return Response(status_code=500)
        receiver.received.append((await request.body(), dict(request.headers)))
        receiver.arrived.set()
        return Response(status_code=204)

    server = EmbeddedHttpServer(app, bind_socket("127.0.0.1", 0), grace_seconds=1)
    receiver.url = f"http://127.0.0.1:{server.port}/callbacks"
    await server.start()
    yield receiver
    await server.stop()
