"""The live verifiers, from a heartbeat table in PostgreSQL (`verifier_replicas`).

Each verifier renews its row every `interval` seconds, valid for `ttl`; one that dies drops out
when its row expires. A newcomer's first heartbeat is announced with NOTIFY, so the others
shrink their shares of the bodies' concurrency at once rather than at their next heartbeat.
"""

import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from services.runtime.notifications import Notifications, Signal

CHANNEL = "verifier_replicas"

_SQL = Path(__file__).parent / "sql"
_HEARTBEAT = (_SQL / "replica_heartbeat.sql").read_text()
_PRUNE = (_SQL / "replicas_prune.sql").read_text()

Roster = Callable[[list[str]], None]


class Replicas:
    def __init__(
        self, pool: asyncpg.Pool, instance: str, *, interval: float = 2.0, ttl: float = 10.0
    ) -> None:
        if ttl <= interval:
            raise ValueError("a heartbeat must outlive the interval between two")
        self._pool = pool
        self._instance = instance
        self.interval = interval
        self._ttl = ttl
        self._joined = Signal()
        self._next_prune = 0.0

    @property
    def instance(self) -> str:
        return self._instance

    def follow(self, notifications: Notifications) -> None:
        self._joined = notifications.signal(CHANNEL, own_schema=True)

    async def run(self, on_roster: Roster) -> None:
        """Heartbeats, telling `on_roster` the live verifiers after each (a newcomer's arrival
        makes one at once)."""
        while True:
            joined = self._joined.next_change()
            on_roster(await self.beat())
            await Signal.wait(joined, self.interval)

    async def beat(self) -> list[str]:
        """Renews this verifier's row; the live verifiers (this one's first row included once
        committed: its first answer may not list it yet)."""
        row = await self._pool.fetchrow(_HEARTBEAT, self._instance, self._ttl)
        assert row is not None
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + 600
            await self._pool.execute(_PRUNE)
        return list(row["live"])
