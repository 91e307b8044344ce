"""Holder-supplied URLs: only the body's own host, never an internal address, bounded size."""

import pytest

from services.verifier.channels.guard import HostGuard, RefusedUrl, Resolver


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
