"""Which peers may speak for a client through X-Forwarded-For: a setting of addresses and
networks, empty by default, so that nobody can choose the address a rate limit counts."""

import ipaddress
from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def parse_trusted_proxies(value: object) -> list[str]:
    """`"10.0.0.0/8, ::1"` (the environment's form) or a list; each entry must be an IP
    address or network, since uvicorn would silently treat anything else as a literal."""
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple):
        raise ValueError("trusted proxies: a comma-separated list of addresses or networks")
    proxies = [str(entry).strip() for entry in entries if str(entry).strip()]
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy) if "/" in proxy else ipaddress.ip_address(proxy)
        except ValueError:
            raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network") from None
    return proxies


TrustedProxies = Annotated[list[str], NoDecode, BeforeValidator(parse_trusted_proxies)]
