"""An employer's webhook endpoint that records every attempt, failed ones included."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.runtime.lifecycle import http_server
from tests.e2e.conftest import ReceivedWebhook


@dataclass(frozen=True)
class Attempt:
    webhook: ReceivedWebhook
    status: int
    at: float  # time.monotonic() on arrival


@dataclass
class RecordingEndpoint:
    url: str
    attempts: list[Attempt] = field(default_factory=list)
    status_codes: list[int] = field(default_factory=list)  # answers to come; then 204
    delay_seconds: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    seen: asyncio.Event = field(default_factory=asyncio.Event)  # a request came in, unanswered
    # Only webhooks of this type are recorded and answered from `status_codes`; others get 204.
    only_type: str | None = None

    def delivered(self) -> list[ReceivedWebhook]:
        return [a.webhook for a in self.attempts if a.status < 300]

    async def wait_for(self, count: int, timeout: float = 30) -> list[ReceivedWebhook]:
        """The first `count` successfully delivered webhooks, waiting for them to arrive."""
        async with asyncio.timeout(timeout):
            while len(self.delivered()) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.delivered()[:count]


@asynccontextmanager
async def recording_endpoint(only_type: str | None = None) -> AsyncIterator[RecordingEndpoint]:
    port = free_port()
    endpoint = RecordingEndpoint(url=f"http://127.0.0.1:{port}/hooks", only_type=only_type)

    async def hook(request: Request) -> Response:
        arrived_at = time.monotonic()
        body = await request.body()
        if endpoint.only_type and orjson.loads(body).get("type") != endpoint.only_type:
            return Response(status_code=204)
        endpoint.seen.set()
        if endpoint.delay_seconds:
            await asyncio.sleep(endpoint.delay_seconds)
        status = endpoint.status_codes.pop(0) if endpoint.status_codes else 204
        webhook = ReceivedWebhook(dict(request.headers), body)
        endpoint.attempts.append(Attempt(webhook, status, arrived_at))
        endpoint.arrived.set()
        return Response(status_code=status)

    server = http_server(
        Starlette(routes=[Route("/hooks", hook, methods=["POST"])]), "127.0.0.1", port
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield endpoint
    finally:
        server.should_exit = True
        await task
