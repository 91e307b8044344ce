"""The whole platform as separate processes on real Kafka and PostgreSQL, per test module."""

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.processes import free_port
from deploy.local.supervisor import Supervisor
from services.console.admin import add as add_console_operator
from services.console.domain.roles import Role
from services.runtime.lifecycle import HttpServer, http_server
from tests.infra import Infra


@dataclass
class RunningPlatform:
    platform: Platform
    supervisor: Supervisor


@pytest_asyncio.fixture(scope="module")
async def platform(
    infra: Infra, module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningPlatform]:
    logs = tmp_path_factory.mktemp("platform-logs")
    platform = Platform(infra.kafka_bootstrap_servers, module_database, Ports.free())
    extra = {
        "NOTIFIER_RETRY_TIME_SCALE": "0.0002",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "20",
    }
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs, extra))
        yield RunningPlatform(platform, supervisor)


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class WebhookReceiver:
    """An employer's webhook endpoint: records what arrives; answers with `status_codes`."""

    url: str
    received: asyncio.Queue[ReceivedWebhook] = field(default_factory=asyncio.Queue)
    status_codes: list[int] = field(default_factory=list)

    async def next(self, timeout: float = 30) -> ReceivedWebhook:
        async with asyncio.timeout(timeout):
            return await self.received.get()


@pytest_asyncio.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    port = free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/hooks")

    async def hook(request: Request) -> Response:
        status = receiver.status_codes.pop(0) if receiver.status_codes else 204
        if status < 300:
            await receiver.received.put(
                ReceivedWebhook(dict(request.headers), await request.body())
            )
        return Response(status_code=status)

    server: HttpServer = http_server(
        Starlette(routes=[Route("/hooks", hook, methods=["POST"])]), "127.0.0.1", port
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task


def verify_standard_webhook(secret: str, webhook: ReceivedWebhook) -> bool:
    """What an employer's receiver does: recompute the HMAC-SHA256 signature and compare."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook.headers['webhook-id']}.{webhook.headers['webhook-timestamp']}.".encode()
    expected = base64.b64encode(hmac.new(key, signed + webhook.body, hashlib.sha256).digest())
    offered = [s.split(",", 1)[1] for s in webhook.headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected.decode(), candidate) for candidate in offered)


@dataclass(frozen=True)
class ConsoleAccount:
    url: str
    username: str
    password: str


@pytest_asyncio.fixture(scope="module")
async def console_account(platform: RunningPlatform) -> ConsoleAccount:
    """An operator account on the platform's console (started with the other services)."""
    password = "e2e operator password"
    await add_console_operator(
        "e2e-operator",
        "E2E Operator",
        Role.OPERATOR,
        password,
        database_url=platform.platform.database_url,
    )
    return ConsoleAccount(platform.platform.console_url, "e2e-operator", password)
