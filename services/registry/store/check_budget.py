"""The public check's budget per client, counted in PostgreSQL so that it holds across every
registry replica behind the load balancer (an in-process counter would give a client N times
the limit with N replicas).

One upsert per check (sql/public_check_hit.sql), in an UNLOGGED table (see its migration).
A client is known by an HMAC-SHA256 of its address under a key of the registry's own: an
address is personal data, and a bare hash of an IPv4 address is reversed by trying all 2^32.
Windows older than the previous one are deleted once a window by each replica.
"""

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from limits import RateLimitItem

from services.registry.domain.check_budget import WindowCount

_SQL = Path(__file__).parent / "sql"
_HIT = (_SQL / "public_check_hit.sql").read_text()
_PRUNE = (_SQL / "public_check_prune.sql").read_text()

_KEY_PURPOSE = b"qualverify registry: public-check budget per client address, v1"


def address_key(secret: str) -> bytes:
    """The key that names clients in the budget, derived from a secret of the registry (its
    signing keys' passphrase): the same on every replica, useless for anything else."""
    return hmac.new(secret.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


@dataclass(frozen=True)
class Spent:
    admitted: bool
    retry_after_seconds: int = 0  # when refused


class CheckBudget:
    def __init__(self, pool: asyncpg.Pool, limit: RateLimitItem, key: bytes) -> None:
        self._pool = pool
        self._limit = limit.amount
        self._window = float(limit.get_expiry())
        self._key = key
        self._next_prune = 0.0

    def client_key(self, address: str) -> bytes:
        return hmac.new(self._key, address.encode(), hashlib.sha256).digest()

    async def spend(self, address: str) -> Spent:
        """One check of the client at `address`: admitted, or when to try again."""
        row = await self._pool.fetchrow(_HIT, self.client_key(address), self._window, self._limit)
        assert row is not None
        await self._prune_now_and_then(row["window_no"])
        if row["admitted"]:
            return Spent(admitted=True)
        count = WindowCount(
            self._limit, self._window, row["previous"], row["current"], row["elapsed"]
        )
        return Spent(admitted=False, retry_after_seconds=count.retry_after_seconds())

    async def _prune_now_and_then(self, window_no: int) -> None:
        now = time.monotonic()
        if now >= self._next_prune:
            self._next_prune = now + self._window
            await self._pool.execute(_PRUNE, window_no)
