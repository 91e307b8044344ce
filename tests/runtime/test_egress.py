"""The egress guard: URLs refused up front, and every connection checked again against the
address it really connects to (DNS rebinding), on a real local server; through httpx
(`guarded_client`) and through aiohttp (`guarded_session`)."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from deploy.local.processes import free_port
from deploy.pki.make_dev_pki import make_dev_pki
from services.runtime.egress import (
    EgressPolicy,
    EgressRefused,
    GuardedResolver,
    Reason,
    Resolver,
    guarded_client,
    guarded_session,
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
        if request.url.path == "/host":
            return Response(request.headers["host"])
        return Response(status_code=204)

    paths = ("/hooks", "/redirect", "/elsewhere", "/host")
    routes = [Route(p, hook, methods=["GET", "POST"]) for p in paths]
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


# The same guard on aiohttp (`guarded_session`): names through its resolver, literal addresses
# through its middleware.


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]", "[fd00::1]"]
)
async def test_the_session_refuses_a_literal_internal_address(address: str) -> None:
    async with guarded_session(PRODUCTION) as session:
        with pytest.raises(EgressRefused) as refused:
            await session.post(f"http://{address}:8090/hooks", allow_redirects=False)
    assert refused.value.reason is Reason.INTERNAL_ADDRESS


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "169.254.169.254", "fd00::1"])
async def test_the_session_refuses_a_name_resolving_to_an_internal_address(address: str) -> None:
    resolver = resolver_to(PUBLIC, address)
    async with guarded_session(PRODUCTION, resolver=resolver) as session:
        with pytest.raises(EgressRefused):
            await session.post("https://hooks.example.cn/in", allow_redirects=False)


async def test_the_session_refuses_dns_rebinding_on_a_real_server() -> None:
    async with local_server() as (port, seen):
        url = f"http://rebind.example.cn:{port}/hooks"
        rebound = resolver_to("127.0.0.1")  # public when intake checked it, loopback now
        async with guarded_session(PRODUCTION, resolver=rebound) as session:
            with pytest.raises(EgressRefused):
                await session.post(url, allow_redirects=False)
        async with guarded_session(PRODUCTION) as session:  # the system resolver, for real
            with pytest.raises(EgressRefused):
                await session.post(f"http://localhost:{port}/hooks", allow_redirects=False)
        assert seen == [], "nothing reached the internal server"
        async with guarded_session(DEVELOPMENT) as session:  # the control: allowed, it arrives
            response = await session.post(f"http://localhost:{port}/hooks")
        assert response.status == 204 and seen == ["/hooks"]


async def test_the_session_reaches_an_allowed_name_at_the_address_it_checked() -> None:
    """`hooks.invalid` exists in no DNS: the connection goes to the address the guarded
    resolver returned, and the request still names the host asked for."""
    async with (
        local_server() as (port, _),
        guarded_session(
            EgressPolicy.from_entries(["127.0.0.1"]), resolver=resolver_to("127.0.0.1")
        ) as session,
    ):
        response = await session.get(f"http://hooks.invalid:{port}/host")
        assert (response.status, await response.text()) == (200, f"hooks.invalid:{port}")


async def test_the_resolver_checks_every_address_it_returns() -> None:
    resolver = GuardedResolver(PRODUCTION, resolver_to(PUBLIC, "2606:2800::1"))
    resolved = await resolver.resolve("hooks.example.cn", 443)
    assert [(r["host"], r["port"], r["hostname"]) for r in resolved] == [
        (PUBLIC, 443, "hooks.example.cn"),
        ("2606:2800::1", 443, "hooks.example.cn"),
    ]
    with pytest.raises(EgressRefused):
        await GuardedResolver(PRODUCTION, resolver_to("127.0.0.1")).resolve("x.example", 80)


async def test_the_session_checks_every_hop_of_a_redirect_it_is_told_to_follow() -> None:
    """Callers do not follow redirects; one that did would still be held to the policy: the
    allowed name redirects to a literal loopback address, which is refused."""
    only_the_name = EgressPolicy.from_entries(["hooks.invalid"])
    to_loopback = resolver_to("127.0.0.1")
    async with (
        local_server() as (port, seen),
        guarded_session(only_the_name, resolver=to_loopback) as session,
    ):
        url = f"http://hooks.invalid:{port}/redirect"
        assert (await session.post(url, allow_redirects=False)).status == 302
        with pytest.raises(EgressRefused):
            await session.post(url, allow_redirects=True)
    assert seen == ["/redirect", "/redirect"]


@asynccontextmanager
async def tls_server(pki: Path) -> AsyncIterator[int]:
    """HTTPS on 127.0.0.1 with the development CA's server certificate (names localhost and
    127.0.0.1), answering every request with 204."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki / "registry.pem", pki / "registry-key.pem")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client refused the certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_the_session_verifies_the_certificate_and_its_name(tmp_path: Path) -> None:
    pki = make_dev_pki(tmp_path, clients=())
    trusting = ssl.create_default_context(cafile=pki / "ca.pem")
    to_loopback = resolver_to("127.0.0.1")
    async with tls_server(pki) as port:
        async with guarded_session(DEVELOPMENT, resolver=to_loopback) as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):  # no CA vouches for it
                await session.get(f"https://localhost:{port}/")
        allowed = EgressPolicy.from_entries(["127.0.0.1", "localhost", "other.invalid"])
        async with guarded_session(allowed, resolver=to_loopback, tls=trusting) as session:
            assert (await session.get(f"https://localhost:{port}/")).status == 204
            with pytest.raises(aiohttp.ClientConnectorCertificateError):  # not its name
                await session.get(f"https://other.invalid:{port}/")
