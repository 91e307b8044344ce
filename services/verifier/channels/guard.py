"""Outbound fetches of URLs that came from a holder: only the awarding body's known host, never
an internal address, within size and time limits.

The address rule is the platform's egress policy (`services.runtime.egress`); the check here
refuses early and says why, the client from `HostGuard.client` checks again the address it
really connects to, so a name that rebinds to an internal address in between is refused."""

import asyncio
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from services.runtime.egress import (
    DEFAULT_LIMITS,
    EgressPolicy,
    Resolver,
    guarded_client,
    ip_of,
    refused_by_egress,
    resolve_host,
)
from services.verifier.channels.errors import TransientChannelError

__all__ = ["HostGuard", "RefusedUrl", "Resolver", "fetch_limited", "resolve_host"]


class RefusedUrl(ValueError):
    """A URL the verifier will not fetch; the message says why (no personal data)."""


class HostGuard:
    """Allows a URL only on the expected host, over http(s), resolving to public addresses.

    `allowed_internal_hosts` lists hosts an operator explicitly trusts although they resolve to
    internal addresses (e.g. the simulator on 127.0.0.1 in development); `policy` gives them
    as an egress policy instead (the development allow-list, `QV_EGRESS_ALLOW`).
    """

    def __init__(
        self,
        allowed_internal_hosts: Iterable[str] = (),
        resolver: Resolver = resolve_host,
        *,
        policy: EgressPolicy | None = None,
    ) -> None:
        self._policy = policy or EgressPolicy.from_entries(allowed_internal_hosts)
        self._resolve = resolver

    @property
    def policy(self) -> EgressPolicy:
        return self._policy

    @property
    def resolver(self) -> Resolver:
        return self._resolve

    def client(self, limits: httpx.Limits = DEFAULT_LIMITS) -> httpx.AsyncClient:
        """The client to fetch checked URLs with: it connects only where the check allowed."""
        return guarded_client(self._policy, limits=limits, resolver=self._resolve)

    async def check(self, url: str, expected_host: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise RefusedUrl(f"scheme {parts.scheme!r} is not allowed")
        host = (parts.hostname or "").lower()
        if not host or host != expected_host.lower():
            raise RefusedUrl("host is not a known host of the awarding body")
        if parts.username or parts.password:
            raise RefusedUrl("credentials in URLs are not allowed")
        if self._policy.host_allowed(host):
            return
        try:
            addresses = [host.strip("[]")] if ip_of(host) else await self._resolve(host)
        except OSError as error:
            raise TransientChannelError(f"cannot resolve host: {type(error).__name__}") from error
        if not addresses or not all(self._policy.address_allowed(a) for a in addresses):
            raise RefusedUrl("host resolves to an internal address")


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
        if isinstance(error, httpx.TransportError) and refused_by_egress(error):
            raise RefusedUrl("host resolves to an internal address") from error
        raise TransientChannelError(type(error).__name__) from error
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(body),
        request=response.request,
    )
