"""Where the platform may send requests on someone else's behalf (employers' webhooks, URLs
found in holders' credentials): public addresses only, unless explicitly allowed.

Two checks, one rule. `EgressPolicy.check_url` refuses a URL up front (non-https, metadata
hosts, loopback, link-local, private, unique-local and other non-global addresses).
`guarded_client` checks again when connecting: it resolves the name once, checks every
address and connects to exactly that address, so a name that resolves to a public address
when checked and to an internal one when used (DNS rebinding) is refused. Redirects are never
followed. `guarded_session` is the same guard on aiohttp, for the hot paths (the verifier's
awarding bodies, the notifier's webhooks): a request cost 0.7-0.8 ms of CPU through httpx
(httpcore's pool, anyio, h11) and about 0.15 ms through aiohttp (its C parser).

The development allow-list (`QV_EGRESS_ALLOW`, comma-separated IP addresses, networks or host
names) lifts the rule for the local simulator and test receivers; production leaves it empty.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import SplitResult, urlsplit

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[list[str]]]

# Cloud instance-metadata services by name; their addresses are link-local or private anyway.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class Reason(StrEnum):
    SCHEME = "scheme"
    CREDENTIALS = "credentials"
    NO_HOST = "no-host"
    METADATA_HOST = "metadata-host"
    INTERNAL_ADDRESS = "internal-address"
    OWN_SERVICE = "own-service"


_TEXT: dict[Reason, tuple[str, str]] = {
    Reason.SCHEME: ("地址必须使用 https", "the URL must use https"),
    Reason.CREDENTIALS: ("地址中不得包含用户名或密码", "the URL must not carry credentials"),
    Reason.NO_HOST: ("地址缺少主机名", "the URL has no host"),
    Reason.METADATA_HOST: ("不得指向云元数据服务", "the URL points at a cloud metadata service"),
    Reason.INTERNAL_ADDRESS: (
        "地址指向内部网络（回环、链路本地、私有或唯一本地地址）",
        "the URL points at an internal address (loopback, link-local, private or unique-local)",
    ),
    Reason.OWN_SERVICE: (
        "不得指向本平台的内部服务",
        "the URL points at one of the platform's own services",
    ),
}


class EgressRefused(httpcore.ConnectError):
    """A destination the platform will not reach. A ConnectError, so httpx callers see a
    transport error (with this as its `__cause__`)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(f"egress refused: {_TEXT[reason][1]}")
        self.reason = reason

    @property
    def message_zh(self) -> str:
        return _TEXT[self.reason][0]

    @property
    def message_en(self) -> str:
        return _TEXT[self.reason][1]


class EgressSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QV_EGRESS_")

    # Comma-separated: "127.0.0.1,::1,localhost,10.0.0.0/8". Empty (the default) in production.
    allow: str = Field("", description="development allow-list")


async def resolve_host(host: str) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast, also when an IPv4 address hides inside an IPv6 one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not address.is_multicast


def ip_of(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


@dataclass(frozen=True)
class EgressPolicy:
    allowed_networks: tuple[IPNetwork, ...] = ()
    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str]) -> "EgressPolicy":
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (e.strip().lower() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(tuple(networks), frozenset(hosts))

    @classmethod
    def from_env(cls) -> "EgressPolicy":
        return cls.from_entries(EgressSettings().allow.split(","))

    def address_allowed(self, address: str) -> bool:
        ip = ip_of(address)
        if ip is None:
            return False
        return is_public(ip) or any(ip in network for network in self.allowed_networks)

    def host_allowed(self, host: str) -> bool:
        """Explicitly allowed: an allow-listed name, or a literal address in an allowed network."""
        ip = ip_of(host)
        if ip is None:
            return host.lower() in self.allowed_hosts
        return any(ip in network for network in self.allowed_networks)

    def check_address(self, address: str) -> None:
        if not self.address_allowed(address):
            raise EgressRefused(Reason.INTERNAL_ADDRESS)

    async def check_url(
        self,
        url: str,
        resolver: Resolver = resolve_host,
        never: Iterable[str] = (),
        resolve_seconds: float = 2.0,
    ) -> None:
        """Refuse a URL the platform must not call; `never` are base URLs of the platform's
        own services, refused even when the allow-list covers their address. A name that does
        not resolve (yet, or within `resolve_seconds`) passes: every connection is checked
        again."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            raise EgressRefused(Reason.NO_HOST)
        if parts.username or parts.password:
            raise EgressRefused(Reason.CREDENTIALS)
        explicitly_allowed = self.host_allowed(host)
        if parts.scheme != "https" and not explicitly_allowed:
            raise EgressRefused(Reason.SCHEME)
        if host.rstrip(".") in METADATA_HOSTS:
            raise EgressRefused(Reason.METADATA_HOST)
        addresses = await _addresses(host, resolver, resolve_seconds)
        if await _same_service(host, _port(parts), addresses, never, resolver):
            raise EgressRefused(Reason.OWN_SERVICE)
        if not explicitly_allowed:
            for address in addresses:
                self.check_address(address)


async def _addresses(host: str, resolver: Resolver, seconds: float = 2.0) -> list[str]:
    if ip_of(host) is not None:
        return [host.strip("[]")]
    try:
        async with asyncio.timeout(seconds):
            return await resolver(host)
    except OSError:  # TimeoutError included
        return []


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


async def _same_service(
    host: str, port: int, addresses: list[str], never: Iterable[str], resolver: Resolver
) -> bool:
    """Whether host:port is one of the `never` services, by name or by address."""
    ours = {str(ip_of(a)) for a in addresses} | {host}
    for base in never:
        own = urlsplit(base)
        own_host = (own.hostname or "").lower()
        theirs = {str(ip_of(a)) for a in await _addresses(own_host, resolver)} | {own_host}
        if port == _port(own) and ours & theirs:
            return True
    return False


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to exactly the address it checked. TLS
    still verifies the certificate against the host name (httpcore passes it as SNI)."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolve = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses_of(host)
        if not self._policy.host_allowed(host):
            for address in addresses:
                self._policy.check_address(address)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as failed:
                error = failed
        raise error or httpcore.ConnectError(f"{host} has no address")

    async def _addresses_of(self, host: str) -> list[str]:
        if ip_of(host) is not None:
            return [host.strip("[]")]
        try:
            return await self._resolve(host)
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve host: {type(error).__name__}") from error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused(Reason.INTERNAL_ADDRESS)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on a connection pool whose every connection passes the policy."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver = resolve_host,
    ) -> None:
        # httpx has no parameter for the network backend, httpcore's pool has: the pool is
        # built as AsyncHTTPTransport builds it, with the guarded backend (no proxy, no env).
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy, resolver),
        )


def guarded_client(
    policy: EgressPolicy,
    *,
    limits: httpx.Limits = DEFAULT_LIMITS,
    verify: ssl.SSLContext | bool = True,
    resolver: Resolver = resolve_host,
    timeout: float | None = 10.0,
) -> httpx.AsyncClient:
    """An httpx client that reaches only what the policy allows and never follows redirects."""
    transport = GuardedTransport(policy, limits=limits, verify=verify, resolver=resolver)
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, timeout=timeout
    )


def refused_by_egress(error: BaseException) -> EgressRefused | None:
    """The policy's refusal behind an httpx error, if that is what it was."""
    cause = error.__cause__
    return cause if isinstance(cause, EgressRefused) else None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver under the policy: resolves a name once and refuses it if any of its
    addresses is not allowed; the connector then connects only to the addresses returned,
    the ones checked (a name that rebinds later is resolved and checked again)."""

    def __init__(self, policy: EgressPolicy, resolver: Resolver = resolve_host) -> None:
        self._policy = policy
        self._resolve = resolver

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._resolve(host)
        if not self._policy.host_allowed(host):
            for address in addresses:
                self._policy.check_address(address)
        return [_resolved(host, address, port) for address in addresses]

    async def close(self) -> None:
        return None


def _resolved(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host,
        host=address,
        port=port,
        family=family,
        proto=0,
        flags=socket.AI_NUMERICHOST,
    )


def literal_address_check(policy: EgressPolicy) -> aiohttp.ClientMiddlewareType:
    """aiohttp asks no resolver for a literal address: a middleware checks it before every
    request (each hop of a redirect included, should a caller follow one)."""

    async def check(
        request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        host = request.url.host or ""
        if ip_of(host) is not None and not policy.host_allowed(host):
            policy.check_address(host)
        return await send(request)

    return check


def guarded_session(
    policy: EgressPolicy,
    *,
    max_connections: int = 100,
    resolver: Resolver = resolve_host,
    tls: ssl.SSLContext | None = None,
    timeout_seconds: float | None = 10.0,
) -> aiohttp.ClientSession:
    """An aiohttp session that reaches only what the policy allows (`EgressRefused` raised
    before any connection otherwise), verifies TLS (`tls`, else the system's CA bundle: ~70 ms
    to load, so pass one context to many sessions), keeps up to `max_connections` alive, reads
    no proxy from the environment and keeps no cookies. aiohttp has no session-wide switch for
    redirects: callers pass `allow_redirects=False` (every hop would be checked anyway)."""
    connector = aiohttp.TCPConnector(
        limit=max_connections,
        resolver=GuardedResolver(policy, resolver),
        ssl=tls or ssl.create_default_context(),
    )
    return aiohttp.ClientSession(
        connector=connector,
        middlewares=(literal_address_check(policy),),
        timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
