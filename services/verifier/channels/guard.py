"""Outbound fetches of URLs that came from a holder: only the awarding body's known host, never
an internal address, within size and time limits."""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

import httpx

from services.verifier.channels.errors import TransientChannelError


class RefusedUrl(ValueError):
    """A URL the verifier will not fetch; the message says why (no personal data)."""


Resolver = Callable[[str], Awaitable[list[str]]]


async def resolve_host(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class HostGuard:
    """Allows a URL only on the expected host, over http(s), resolving to public addresses.

    `allowed_internal_hosts` lists hosts an operator explicitly trusts although they resolve to
    internal addresses (e.g. the simulator on 127.0.0.1 in development).
    """

    def __init__(
        self, allowed_internal_hosts: Iterable[str] = (), resolver: Resolver = resolve_host
    ) -> None:
        self._allowed_internal = {h.lower() for h in allowed_internal_hosts}
        self._resolve = resolver

    async def check(self, url: str, expected_host: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise RefusedUrl(f"scheme {parts.scheme!r} is not allowed")
        host = (parts.hostname or "").lower()
        if not host or host != expected_host.lower():
            raise RefusedUrl("host is not a known host of the awarding body")
        if parts.username or parts.password:
            raise RefusedUrl("credentials in URLs are not allowed")
        if host in self._allowed_internal:
            return
        try:
            addresses = [host] if _is_ip(host) else await self._resolve(host)
        except OSError as error:
            raise TransientChannelError(f"cannot resolve host: {type(error).__name__}") from error
        if not addresses or any(_is_internal(a) for a in addresses):
            raise RefusedUrl("host resolves to an internal address")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def fetch_limited(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, seconds: float
) -> httpx.Response:
    """GET without following redirects, giving up past `max_bytes` or `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            async with client.stream("GET", url, timeout=seconds) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise RefusedUrl(f"answer larger than {max_bytes} bytes")
    except (httpx.TransportError, TimeoutError) as error:
        raise TransientChannelError(type(error).__name__) from error
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(body),
        request=response.request,
    )
