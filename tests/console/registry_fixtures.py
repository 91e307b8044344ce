"""A real registry (mutual TLS, real PostgreSQL) and a console whose registry adapter calls it,
for the Codes and Regions sections' tests."""

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from starlette.routing import BaseRoute

from services.console.__main__ import core_deps
from services.console.adapters.registry import RegistryOperator
from services.console.web.deps import Deps
from services.registry.api.app import RunningRegistry, running_registry
from tests.console.conftest import console_settings, serve_console, with_accounts
from tests.infra import Infra
from tests.registry.support import issue_request, registry_settings, session_pki, trusted_stub


@dataclass
class RegistryConsole:
    url: str
    deps: Deps
    registry: RunningRegistry
    stub: Any  # calls the registry as the identity each RPC needs (tests/registry/support.py)

    @property
    def operator(self) -> RegistryOperator:
        """The console's own registry adapter."""
        assert self.deps.registry is not None
        return self.deps.registry

    async def issue_code(self, **fields: Any) -> str:
        """A code the registry issues, as for an authentic verdict (through its store)."""
        return str((await self.stub.seed(issue_request(**fields))).code)


@contextlib.asynccontextmanager
async def registry_console(
    infra: Infra,
    database: str,
    pool: asyncpg.Pool,
    sections: Callable[[Deps], Sequence[BaseRoute]],
    **deps_fields: Any,
) -> AsyncIterator[RegistryConsole]:
    settings = registry_settings(infra, database, subscriber_write_seconds=0.2)
    async with running_registry(settings) as registry:
        operator = RegistryOperator.connect(registry.grpc_address, session_pki())
        try:
            deps = await with_accounts(core_deps(console_settings(database), pool))
            deps.registry = operator
            for name, value in deps_fields.items():
                setattr(deps, name, value)
            async with (
                trusted_stub(registry.grpc_address, registry) as stub,
                serve_console(deps, sections(deps)) as url,
            ):
                yield RegistryConsole(url, deps, registry, stub)
        finally:
            await operator.close()
