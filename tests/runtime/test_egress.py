"""The egress guard: URLs refused up front, and every connection checked again against the
address it really connects to (DNS rebinding), on a real local server."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.runtime.egress import (
    EgressPolicy,
    EgressRefused,
    Reason,
    Resolver,
    guarded_client,
    refused_by_egress,
)
from services.runtime.lifecycle import http_server

PRODUCTION = EgressPolicy()
DEVELOPMENT = EgressPolicy.from_entries(["127.0.0.1", "::1", "localhost"])
PUBLIC = "93.184.216.34"


def resolver_to(*addresses: str) -> Resolver:
    async def resolve(_host: str) -> list[str]:
        return list(addresses)

    return resolve


ISSUE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5432/",
    "http://10.0.0.1/",
    "http://[::1]:22/",
    "http://metadata.google.internal/computeMetadata/v1/",
]


@pytest.mark.parametrize("url", ISSUE_URLS + [u.replace("http:", "https:") for u in ISSUE_URLS])
async def test_the_urls_of_the_issue_are_refused(url: str) -> None:
    with pytest.raises(EgressRefused):
        await PRODUCTION.check_url(url, resolver=resolver_to(PUBLIC))


@pytest.mark.parametrize(
    "url",
    [
        "https://[fd00::1]/hook",  # unique-local
        "https://[fe80::1]/hook",  # link-local
        "https://[::ffff:127.0.0.1]/hook",  # loopback inside IPv6
        "https://[64:ff9b::a00:1]/hook",  # 10.0.0.1 through NAT64
        "https://100.100.100.200/hook",  # Alibaba Cloud metadata (shared address space)
        "https://192.168.1.1/hook",
        "https://0.0.0.0/hook",
    ],
)
async def test_every_non_global_address_is_refused(url: str) -> None:
    with pytest.raises(EgressRefused, match="internal"):
        await PRODUCTION.check_url(url)


async def test_a_name_resolving_to_an_internal_address_is_refused() -> None:
    with pytest.raises(EgressRefused) as refused:
        await PRODUCTION.check_url("https://hooks.example.cn/in", resolver_to(PUBLIC, "10.1.2.3"))
    assert refused.value.reason is Reason.INTERNAL_ADDRESS
    assert refused.value.message_zh and refused.value.message_en


async def test_https_to_a_public_address_passes_and_http_does_not() -> None:
    await PRODUCTION.check_url("https://hooks.example.cn/in", resolver_to(PUBLIC))
    with pytest.raises(EgressRefused) as refused:
        await PRODUCTION.check_url("http://hooks.example.cn/in", resolver_to(PUBLIC))
    assert refused.value.reason is Reason.SCHEME


async def test_the_development_allow_list_admits_only_what_it_names() -> None:
    await DEVELOPMENT.check_url("http://127.0.0.1:8090/hooks")
    await DEVELOPMENT.check_url("http://localhost:8090/hooks", resolver_to("127.0.0.1"))
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://metadata.google.internal/"):
        with pytest.raises(EgressRefused):
            await DEVELOPMENT.check_url(url, resolver_to("169.254.169.254"))


async def test_the_platforms_own_services_are_refused_even_when_allowed() -> None:
    internal = "http://127.0.0.1:8082"
    with pytest.raises(EgressRefused) as refused:
        await DEVELOPMENT.check_url(
            "http://localhost:8082/internal/v1/employers", resolver_to("127.0.0.1"), [internal]
        )
    assert refused.value.reason is Reason.OWN_SERVICE
    await DEVELOPMENT.check_url("http://127.0.0.1:8083/hooks", never=[internal])


async def test_a_slow_resolver_does_not_hold_the_check_up() -> None:
    async def slow(_host: str) -> list[str]:
        await asyncio.sleep(30)
        return ["10.0.0.1"]

    async with asyncio.timeout(1):  # unresolved in time: passes, the connection checks again
        await PRODUCTION.check_url("https://slow.example.cn/hook", slow, resolve_seconds=0.05)


@asynccontextmanager
async def local_server() -> AsyncIterator[tuple[int, list[str]]]:
    port, seen = free_port(), []

    async def hook(request: Request) -> Response:
        seen.append(request.url.path)
        if request.url.path == "/redirect":
            return RedirectResponse(f"http://127.0.0.1:{port}/elsewhere", status_code=302)
        return Response(status_code=204)

    routes = [
        Route(p, hook, methods=["GET", "POST"]) for p in ("/hooks", "/redirect", "/elsewhere")
    ]
    server = http_server(Starlette(routes=routes), "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port, seen
    finally:
        server.should_exit = True
        await task


async def test_dns_rebinding_is_refused_at_connection_time_on_a_real_server() -> None:
    async with local_server() as (port, seen):
        url = f"https://rebind.example.cn:{port}/hooks"
        await PRODUCTION.check_url(url, resolver_to(PUBLIC))  # public when checked ...
        rebound = resolver_to("127.0.0.1")  # ... loopback when used
        async with guarded_client(PRODUCTION, resolver=rebound) as client:
            with pytest.raises(httpx.ConnectError) as failed:
                await client.post(url.replace("https:", "http:"))
        refusal = refused_by_egress(failed.value)
        assert refusal is not None and refusal.reason is Reason.INTERNAL_ADDRESS
        async with guarded_client(PRODUCTION) as client:  # the system resolver, for real
            with pytest.raises(httpx.ConnectError):
                await client.post(f"http://localhost:{port}/hooks")
        assert seen == [], "nothing reached the internal server"
        async with guarded_client(DEVELOPMENT) as client:  # the control: allowed, it arrives
            assert (await client.post(f"http://localhost:{port}/hooks")).status_code == 204
        assert seen == ["/hooks"]


async def test_redirects_are_never_followed() -> None:
    async with local_server() as (port, seen), guarded_client(DEVELOPMENT) as client:
        response = await client.post(f"http://127.0.0.1:{port}/redirect")
    assert response.status_code == 302
    assert seen == ["/redirect"]
