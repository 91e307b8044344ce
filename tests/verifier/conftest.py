"""A real awarding-body simulator on free ports, shared by the verifier tests."""

from collections.abc import AsyncIterator

import httpx
import pytest

from simulator.server import RunningSimulator, start_simulator
from tests.verifier.support import simulator_settings


@pytest.fixture(scope="session")
async def simulator() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(simulator_settings())
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:
        yield client
