"""The console's own time series: the broker's offsets, one sample every few seconds, kept for
a retention period. One transaction per sample, each table written in one statement."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from services.console.domain.offsets import KafkaSnapshot
from services.console.domain.rates import Point

_SQL = Path(__file__).parent / "sql" / "kafka"
_INSERT_SAMPLE = (_SQL / "insert_sample.sql").read_text()
_INSERT_TOPIC_OFFSETS = (_SQL / "insert_topic_offsets.sql").read_text()
_INSERT_GROUP_OFFSETS = (_SQL / "insert_group_offsets.sql").read_text()
_DELETE_BEFORE = (_SQL / "delete_samples_before.sql").read_text()
_TOPIC_TOTALS = (_SQL / "topic_totals_since.sql").read_text()
_GROUP_TOTALS = (_SQL / "group_totals_since.sql").read_text()


@dataclass(frozen=True)
class GroupPoint:
    """One (group, topic) at one sample."""

    at: datetime
    total: int  # records consumed: the sum of the group's positions
    lag: int
    lag_seconds: float | None

    def point(self) -> Point:
        return Point(self.at, self.total)


class SampleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, snapshot: KafkaSnapshot) -> None:
        offsets = snapshot.offsets
        positions = snapshot.positions
        async with self._pool.acquire() as conn, conn.transaction():
            sample_id = await conn.fetchval(_INSERT_SAMPLE, snapshot.taken_at)
            await conn.execute(
                _INSERT_TOPIC_OFFSETS,
                sample_id,
                [o.topic for o in offsets],
                [o.partition for o in offsets],
                [o.start for o in offsets],
                [o.end for o in offsets],
            )
            await conn.execute(
                _INSERT_GROUP_OFFSETS,
                sample_id,
                [p.group_id for p in positions],
                [p.topic for p in positions],
                [p.partition for p in positions],
                [p.position for p in positions],
                [p.lag for p in positions],
                [p.lag_seconds(snapshot.taken_at) for p in positions],
            )

    async def forget_before(self, cutoff: datetime) -> int:
        """Deletes the samples older than `cutoff`; returns how many."""
        status = await self._pool.execute(_DELETE_BEFORE, cutoff)
        return int(status.split()[-1])

    async def topic_series(self, since: datetime, every: int = 1) -> dict[str, list[Point]]:
        """Records written to each topic, per sample from `since` on, oldest first; with
        `every` > 1 only every so many samples (a long span charted in a few hundred points)."""
        series: dict[str, list[Point]] = {}
        for row in await self._pool.fetch(_TOPIC_TOTALS, since, every):
            series.setdefault(row["topic"], []).append(Point(row["sampled_at"], row["total"]))
        return series

    async def group_series(
        self, since: datetime, every: int = 1
    ) -> dict[tuple[str, str], list[GroupPoint]]:
        """Records consumed, lag and max lag time of each (group, topic), per sample."""
        series: dict[tuple[str, str], list[GroupPoint]] = {}
        for row in await self._pool.fetch(_GROUP_TOTALS, since, every):
            series.setdefault((row["group_id"], row["topic"]), []).append(
                GroupPoint(row["sampled_at"], row["total"], row["lag"], row["lag_seconds"])
            )
        return series
