"""Fixtures shared by the registry tests: a registry on this module's database and a client
that calls it with a region's certificate. A module that needs another registry overrides
`registry`; `stub` then calls that one."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import registry_settings, trusted_stub


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    async with running_registry(registry_settings(infra, module_database)) as running:
        yield running


@pytest.fixture(scope="module")
async def stub(registry: RunningRegistry) -> AsyncIterator[Any]:
    async with trusted_stub(registry.grpc_address, registry) as routed:
        yield routed
