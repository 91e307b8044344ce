"""The awarding bodies' HTTP clients keep the platform's egress rules (the guard itself,
`guarded_session`, is tested in tests/runtime/test_egress.py): a refusal is a transient channel
error caused by the policy; redirects are not followed; TLS verifies the body's certificate,
with one context for every body; an answer over the limit is not read further."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.reference.channels import BodyChannel, ChannelType
from services.runtime.egress import EgressPolicy, EgressRefused, Resolver
from services.runtime.lifecycle import http_server
from services.verifier.channels.errors import TransientChannelError
from services.verifier.channels.http_clients import BodyClients, ResponseTooLarge

LOOPBACK = EgressPolicy.from_entries(["127.0.0.1"])


def channel() -> BodyChannel:
    return BodyChannel(type=ChannelType.CREDENTIAL_API, endpoint="http://unused", timeout_seconds=2)


def resolver_to(*addresses: str) -> Resolver:
    async def resolve(_host: str) -> list[str]:
        return list(addresses)

    return resolve


@asynccontextmanager
async def body_server() -> AsyncIterator[int]:
    """A body on 127.0.0.1 that names the host it was asked for, and one path that redirects."""

    async def host(request: Request) -> Response:
        return Response(request.headers["host"])

    async def moved(_: Request) -> Response:
        return RedirectResponse("http://127.0.0.1:9/elsewhere", status_code=302)

    app = Starlette(routes=[Route("/host", host), Route("/moved", moved)])
    port = free_port()
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def refused(clients: BodyClients, url: str) -> EgressRefused:
    with pytest.raises(TransientChannelError) as raised:
        await clients.send("a-body", channel(), "GET", url)
    cause = raised.value.__cause__
    assert isinstance(cause, EgressRefused), repr(cause)
    return cause


async def test_a_literal_internal_address_is_refused() -> None:
    clients = BodyClients(policy=EgressPolicy())
    await refused(clients, "http://169.254.169.254:8090/credentials/1")
    await clients.aclose()


async def test_a_name_resolving_to_an_internal_address_is_refused() -> None:
    clients = BodyClients(policy=EgressPolicy(), resolver=resolver_to("93.184.216.34", "10.1.2.3"))
    await refused(clients, "https://body.example.org/credentials/1")
    await clients.aclose()


async def test_an_allowed_name_is_reached_at_the_address_it_resolved_to() -> None:
    """`body.invalid` exists in no DNS: the clients resolve with the resolver they were given,
    and the request still names the body's host."""
    clients = BodyClients(policy=LOOPBACK, resolver=resolver_to("127.0.0.1"))
    async with body_server() as port:
        answer = await clients.send("a-body", channel(), "GET", f"http://body.invalid:{port}/host")
    assert (answer.status, answer.text) == (200, f"body.invalid:{port}")
    await clients.aclose()


async def test_redirects_are_not_followed() -> None:
    clients = BodyClients(policy=LOOPBACK)
    async with body_server() as port:
        answer = await clients.send("a-body", channel(), "GET", f"http://127.0.0.1:{port}/moved")
    assert answer.status == 302 and answer.path == "/moved"
    await clients.aclose()


async def test_tls_verifies_the_bodys_certificate() -> None:
    """A self-signed body (no CA vouches for it) is refused: no answer is read from it."""
    clients = BodyClients(policy=LOOPBACK)
    async with body_server() as port:  # plain HTTP: the TLS handshake cannot succeed
        with pytest.raises(TransientChannelError):
            await clients.send("a-body", channel(), "GET", f"https://127.0.0.1:{port}/host")
    assert isinstance(clients._tls, ssl.SSLContext)
    assert clients._tls.verify_mode == ssl.CERT_REQUIRED and clients._tls.check_hostname
    await clients.aclose()


async def test_an_answer_over_the_limit_is_not_read_further() -> None:
    clients = BodyClients(policy=LOOPBACK)
    async with body_server() as port:
        url = f"http://127.0.0.1:{port}/host"
        with pytest.raises(ResponseTooLarge):
            await clients.send("a-body", channel(), "GET", url, max_bytes=5)
        answer = await clients.send("a-body", channel(), "GET", url, max_bytes=100)
    assert answer.text == f"127.0.0.1:{port}"
    await clients.aclose()
