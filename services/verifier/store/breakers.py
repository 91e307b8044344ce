"""The awarding bodies' circuit breakers, shared by every verifier through PostgreSQL.

The breaker itself stays in each process (domain/breaker.py, consulted on every call at no
cost); this adapter writes only its transitions to `body_breakers` (opened, probe claimed,
closed), and the opening and closing ones are announced with NOTIFY, so the other verifiers
open or close theirs at once. The half-open probe is claimed with one conditional UPDATE: one
verifier in the cluster probes, the others wait for its outcome (or for its claim to expire,
should it die). Each verifier catches up from the table whenever its LISTEN (re)connects.

PostgreSQL being away must never fail a verification: the callers (channels/contact.py) treat
an error here as "not shared this time" and go on with the local breaker.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson

from services.runtime.notifications import Notifications, Signal
from services.verifier.domain.breaker import Probe, ProbeClaim

log = logging.getLogger(__name__)

CHANNEL = "verifier_breakers"

_SQL = Path(__file__).parent / "sql"
_OPENED = (_SQL / "breaker_opened.sql").read_text()
_CLOSED = (_SQL / "breaker_closed.sql").read_text()
_CLAIM = (_SQL / "breaker_claim_probe.sql").read_text()
_ALL = (_SQL / "breakers.sql").read_text()


@dataclass(frozen=True)
class BreakerChange:
    """A body's breaker as another verifier left it: open for `open_for` more seconds (0 or
    less: due for its probe), or closed (None)."""

    body_id: str
    open_for: float | None


Apply = Callable[[str, float | None], None]
"""Told (body id, seconds it stays open or None: closed) of another verifier's transition."""


class SharedBreakers:
    def __init__(self, pool: asyncpg.Pool, instance: str) -> None:
        self._pool = pool
        self._instance = instance
        self._apply: Apply | None = None
        self._resync = Signal()

    def follow(self, notifications: Notifications, apply: Apply) -> None:
        """Others' transitions go to `apply` as they are committed; `run()` catches up."""
        self._apply = apply
        notifications.on(CHANNEL, self._on_notify, resync=self._resync.fire, own_schema=True)

    async def run(self) -> None:
        """Catches up with the table now and after every (re)connect of the LISTEN."""
        while True:
            changed = self._resync.next_change()
            for change in await self.read_all():
                self._applied(change)
            await changed.wait()

    async def read_all(self) -> list[BreakerChange]:
        rows = await self._pool.fetch(_ALL)
        return [BreakerChange(row["body_id"], row["open_for"]) for row in rows]

    async def opened(self, body_id: str, open_seconds: float) -> None:
        await self._pool.execute(_OPENED, body_id, open_seconds, self._instance)

    async def closed(self, body_id: str) -> None:
        await self._pool.execute(_CLOSED, body_id, self._instance)

    async def claim_probe(self, body_id: str, hold_seconds: float) -> ProbeClaim:
        row = await self._pool.fetchrow(_CLAIM, body_id, hold_seconds)
        assert row is not None
        if row["claimed"]:
            return ProbeClaim(Probe.MINE)
        if row["closed"]:
            return ProbeClaim(Probe.CLOSED)
        return ProbeClaim(Probe.TAKEN, row["wait_seconds"])

    def _on_notify(self, payload: str) -> None:
        try:
            data = orjson.loads(payload)
            change = BreakerChange(str(data["body"]), data["open_for"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            log.warning("unreadable breaker notification ignored")
            return
        if data.get("by") != self._instance:
            self._applied(change)

    def _applied(self, change: BreakerChange) -> None:
        if self._apply is not None:
            self._apply(change.body_id, change.open_for)
