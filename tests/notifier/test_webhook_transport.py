"""The webhook transport alone, against an employer's endpoint on a real local socket: signed
per Standard Webhooks, one kept-alive connection for consecutive deliveries, statuses,
redirects not followed, the delivery timeout, and destinations the egress policy refuses."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from uuid import uuid4

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.notifier.delivery.transport import Failure
from services.notifier.delivery.webhooks import WebhookTransport
from services.notifier.store.repository import DueDelivery
from services.runtime.egress import EgressPolicy, guarded_session
from services.runtime.lifecycle import http_server
from tests.e2e.conftest import ReceivedWebhook, verify_standard_webhook
from tests.notifier.events import BOX, new_secret

LOCAL_RECEIVERS = EgressPolicy.from_entries(["127.0.0.1"])
PAYLOAD = b'{"type":"verification.concluded"}'


@dataclass
class Endpoint:
    base: str
    received: list[ReceivedWebhook] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    peers: list[int] = field(default_factory=list)  # the sender's port: one per connection


@asynccontextmanager
async def employer_endpoint() -> AsyncIterator[Endpoint]:
    port = free_port()
    endpoint = Endpoint(f"http://127.0.0.1:{port}")

    async def hook(request: Request) -> Response:
        endpoint.paths.append(request.url.path)
        endpoint.peers.append(request.client.port if request.client else 0)
        endpoint.received.append(ReceivedWebhook(dict(request.headers), await request.body()))
        match request.url.path:
            case "/failing":
                return Response(status_code=500)
            case "/accepted":
                return Response(status_code=202)
            case "/moved":
                return RedirectResponse(f"{endpoint.base}/hooks", status_code=307)
            case "/slow":
                await asyncio.sleep(2)
            case "/chatty":
                return Response(b"x" * 200_000)
        return Response(status_code=204)

    paths = ("/hooks", "/failing", "/accepted", "/moved", "/slow", "/chatty")
    app = Starlette(routes=[Route(p, hook, methods=["POST"]) for p in paths])
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield endpoint
    finally:
        server.should_exit = True
        await task


def due(url: str, secret: str | None, previous: str | None = None) -> DueDelivery:
    employer = uuid4()
    current, old = (BOX.seal(s, employer, url) if s else None for s in (secret, previous))
    return DueDelivery(f"msg_{uuid4().hex}", employer, "webhook", url, current, old, PAYLOAD, 0)


@asynccontextmanager
async def transport(
    policy: EgressPolicy = LOCAL_RECEIVERS, timeout_seconds: float = 2
) -> AsyncIterator[WebhookTransport]:
    async with guarded_session(policy) as session:
        yield WebhookTransport(session, BOX, timeout_seconds=timeout_seconds)


async def test_a_webhook_is_signed_with_every_valid_secret() -> None:
    current, previous = new_secret(), new_secret()
    async with employer_endpoint() as endpoint, transport() as webhooks:
        delivery = due(f"{endpoint.base}/hooks", current, previous)
        assert await webhooks.send(delivery) is None
    (webhook,) = endpoint.received
    assert webhook.body == PAYLOAD and webhook.headers["content-type"] == "application/json"
    assert webhook.headers["webhook-id"] == delivery.webhook_id
    assert abs(int(webhook.headers["webhook-timestamp"]) - time.time()) < 5
    assert len(webhook.headers["webhook-signature"].split()) == 2
    assert verify_standard_webhook(current, webhook) and verify_standard_webhook(previous, webhook)
    assert not verify_standard_webhook(new_secret(), webhook)


async def test_consecutive_deliveries_share_one_kept_alive_connection() -> None:
    async with employer_endpoint() as endpoint, transport() as webhooks:
        for _ in range(5):
            assert await webhooks.send(due(f"{endpoint.base}/hooks", new_secret())) is None
        await webhooks.send(due(f"{endpoint.base}/chatty", new_secret()))  # not read in full
        assert await webhooks.send(due(f"{endpoint.base}/hooks", new_secret())) is None
    assert len(set(endpoint.peers[:6])) == 1, "one connection for the first six"
    assert endpoint.peers[6] != endpoint.peers[5], "a long answer's connection is dropped"


async def test_any_2xx_delivers_an_error_status_is_retried_a_redirect_not_followed() -> None:
    async with employer_endpoint() as endpoint, transport() as webhooks:
        accepted = await webhooks.send(due(f"{endpoint.base}/accepted", new_secret()))
        failing = await webhooks.send(due(f"{endpoint.base}/failing", new_secret()))
        moved = await webhooks.send(due(f"{endpoint.base}/moved", new_secret()))
    assert (accepted, failing, moved) == (None, Failure("HTTP 500"), Failure("HTTP 307"))
    assert endpoint.paths == ["/accepted", "/failing", "/moved"]


async def test_a_receiver_slower_than_the_delivery_timeout_is_a_failure_to_retry() -> None:
    async with employer_endpoint() as endpoint, transport(timeout_seconds=0.3) as webhooks:
        started = time.monotonic()
        failure = await webhooks.send(due(f"{endpoint.base}/slow", new_secret()))
        waited = time.monotonic() - started
    assert failure is not None and not failure.final and "Timeout" in failure.error
    assert waited < 1.5


async def test_an_internal_destination_is_refused_for_good_and_nothing_is_sent() -> None:
    async with employer_endpoint() as endpoint, transport(EgressPolicy()) as webhooks:
        literal = await webhooks.send(due(f"{endpoint.base}/hooks", new_secret()))
        by_name = f"{endpoint.base}/hooks".replace("127.0.0.1", "localhost")
        named = await webhooks.send(due(by_name, new_secret()))
    refused = Failure("forbidden destination", final=True)
    assert (literal, named) == (refused, refused)
    assert endpoint.received == []


async def test_a_removed_endpoint_fails_for_good_without_a_request() -> None:
    async with employer_endpoint() as endpoint, transport() as webhooks:
        failure = await webhooks.send(due(f"{endpoint.base}/hooks", None))
    assert failure == Failure("endpoint removed", final=True)
    assert endpoint.received == []
