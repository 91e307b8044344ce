"""Holder-supplied URLs: only the body's own host, never an internal address, bounded size."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.runtime.lifecycle import http_server
from services.verifier.channels.guard import HostGuard, RefusedUrl, Resolver, fetch_limited


def resolver_to(*addresses: str) -> Resolver:
    async def resolve(_host: str) -> list[str]:
        return list(addresses)

    return resolve


async def test_the_body_host_resolving_to_a_public_address_is_allowed() -> None:
    guard = HostGuard(resolver=resolver_to("93.184.216.34"))
    await guard.check("https://badges.example.org/vc/status/1", "badges.example.org")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/status/1",  # another host
        "https://badges.example.org.evil.net/status/1",  # a suffix trick
        "file:///etc/passwd",
        "gopher://badges.example.org/",
        "https://user:pw@badges.example.org/status/1",
    ],
)
async def test_other_hosts_schemes_and_credentials_are_refused(url: str) -> None:
    guard = HostGuard(resolver=resolver_to("93.184.216.34"))
    with pytest.raises(RefusedUrl):
        await guard.check(url, "badges.example.org")


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "fd00::1"]
)
async def test_a_body_host_resolving_to_an_internal_address_is_refused(address: str) -> None:
    guard = HostGuard(resolver=resolver_to("93.184.216.34", address))
    with pytest.raises(RefusedUrl, match="internal"):
        await guard.check("https://badges.example.org/status/1", "badges.example.org")


async def test_a_literal_internal_address_is_refused_unless_explicitly_allowed() -> None:
    with pytest.raises(RefusedUrl):
        await HostGuard().check("http://127.0.0.1:8090/vc/x/status/1", "127.0.0.1")
    with pytest.raises(RefusedUrl):
        await HostGuard().check("http://169.254.169.254/latest/meta-data", "169.254.169.254")
    allowed = HostGuard(allowed_internal_hosts=["127.0.0.1"])
    await allowed.check("http://127.0.0.1:8090/vc/x/status/1", "127.0.0.1")
    with pytest.raises(RefusedUrl):  # the allow-list does not widen the host check
        await allowed.check("http://10.0.0.1/vc/x/status/1", "127.0.0.1")


async def test_a_host_that_rebinds_to_an_internal_address_after_the_check_is_not_fetched() -> None:
    """DNS rebinding: public when checked, loopback when connected; on a real local server."""
    answers = iter(["93.184.216.34"])

    async def rebinding(_host: str) -> list[str]:
        return [next(answers, "127.0.0.1")]

    async with local_status_list() as (port, seen):
        url = f"http://badges.example.org:{port}/status/1"
        guard = HostGuard(resolver=rebinding)
        await guard.check(url, "badges.example.org")
        async with guard.client() as client:
            with pytest.raises(RefusedUrl, match="internal"):
                await fetch_limited(client, url, max_bytes=1000, seconds=2)
    assert seen == [], "nothing reached the internal address"


@asynccontextmanager
async def local_status_list() -> AsyncIterator[tuple[int, list[str]]]:
    port, seen = free_port(), []

    async def status(request: Request) -> Response:
        seen.append(request.url.path)
        return Response(b"{}", media_type="application/json")

    server = http_server(Starlette(routes=[Route("/status/1", status)]), "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port, seen
    finally:
        server.should_exit = True
        await task
