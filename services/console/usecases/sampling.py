"""The sampler: every few seconds, the broker's offsets into PostgreSQL and the gauges, and the
latest snapshot kept for the pages. While the broker is away the last snapshot stays, marked
stale by its age; `keep_running` restarts the loop once the broker is back."""

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from services.console.adapters.kafka_admin import KafkaAdmin
from services.console.adapters.kafka_metrics import publish
from services.console.domain.offsets import KafkaSnapshot
from services.console.store.samples import SampleStore

log = logging.getLogger(__name__)

Connect = Callable[[], AbstractAsyncContextManager[KafkaAdmin]]

# A sample older than this many intervals, and than the floor (one slow round of a loaded
# broker is not an outage), is shown as stale.
_STALE_AFTER_INTERVALS = 3
_STALE_FLOOR_SECONDS = 15.0


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"  # the broker has not answered for a while; the figures are old
    UNKNOWN = "unknown"  # no sample yet since the console started


@dataclass(frozen=True)
class Latest:
    snapshot: KafkaSnapshot | None
    freshness: Freshness
    age_seconds: float | None


class Sampler:
    def __init__(
        self,
        connect: Connect,
        store: SampleStore,
        *,
        interval_seconds: float,
        retention: timedelta,
    ) -> None:
        self._connect = connect
        self._store = store
        self._interval = interval_seconds
        self._retention = retention
        self._latest: KafkaSnapshot | None = None

    def latest(self, now: datetime | None = None) -> Latest:
        snapshot = self._latest
        if snapshot is None:
            return Latest(None, Freshness.UNKNOWN, None)
        age = ((now or datetime.now(UTC)) - snapshot.taken_at).total_seconds()
        stale = age > max(self._interval * _STALE_AFTER_INTERVALS, _STALE_FLOOR_SECONDS)
        return Latest(snapshot, Freshness.STALE if stale else Freshness.FRESH, age)

    async def run(self) -> None:
        """Samples until cancelled; a broker or database error ends it (to be restarted)."""
        async with self._connect() as admin:
            while True:
                await self.sample_once(admin)
                await asyncio.sleep(self._interval)

    async def sample_once(self, admin: KafkaAdmin) -> KafkaSnapshot:
        snapshot = await admin.snapshot()
        self._latest = snapshot
        publish(snapshot)
        await self._store.record(snapshot)
        await self._store.forget_before(snapshot.taken_at - self._retention)
        return snapshot
