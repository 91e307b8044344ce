"""The topics view: every topic with its rates, partitions, retention and compaction, every
consumer group on it with per-partition lag, max lag time and catch-up time, and the pipeline
graph; the latest broker snapshot joined with rates from the stored samples."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.console.domain.offsets import GroupInfo, GroupPosition, KafkaSnapshot, TopicInfo
from services.console.domain.pipeline import Hop, Pipeline, build_pipeline, is_stalled
from services.console.domain.rates import CatchUp, catch_up, rate, rate_series, within
from services.console.store.samples import SampleStore
from services.console.usecases.sampling import Freshness, Sampler


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float | None


@dataclass(frozen=True)
class GroupOnTopic:
    group_id: str
    topic: str
    state: str
    members: int
    partitions: tuple[PartitionLag, ...]
    out_rate: float | None
    catch_up: CatchUp
    stalled: bool

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_seconds(self) -> float | None:
        known = [p.lag_seconds for p in self.partitions if p.lag_seconds is not None]
        return max(known) if known else None


@dataclass(frozen=True)
class TopicRow:
    info: TopicInfo
    records: int  # kept on the broker now
    in_rate: float | None
    out_rate: float | None  # all groups together
    groups: tuple[GroupOnTopic, ...]


@dataclass(frozen=True)
class TopicsOverview:
    freshness: Freshness
    taken_at: datetime | None
    age_seconds: float | None
    topics: tuple[TopicRow, ...]
    pipeline: Pipeline
    dead_letters: dict[str, int]


@dataclass(frozen=True)
class RateHistory:
    """Records per second per sample: into each topic, and out by each group (all its topics)."""

    topics_in: dict[str, list[tuple[datetime, float]]]
    groups_out: dict[str, list[tuple[datetime, float]]]


class TopicsOverviewReader:
    def __init__(
        self,
        sampler: Sampler,
        samples: SampleStore,
        *,
        window: timedelta,
        stall_seconds: float,
        sample_seconds: float = 5.0,
    ) -> None:
        self._sampler = sampler
        self._samples = samples
        self._window = window
        self._stall_seconds = stall_seconds
        self._sample_seconds = sample_seconds

    async def overview(self, now: datetime | None = None) -> TopicsOverview:
        latest = self._sampler.latest(now)
        snapshot = latest.snapshot
        if snapshot is None:
            return TopicsOverview(latest.freshness, None, None, (), Pipeline((), ()), {})
        # Rates over the window that ends at the snapshot, whatever its age.
        since = snapshot.taken_at - self._window
        topic_points = await self._samples.topic_series(since - self._window)
        group_points = await self._samples.group_series(since - self._window)
        in_rates = {t: rate(within(points, since)) for t, points in topic_points.items()}
        out_rates = {
            key: rate(within([p.point() for p in points], since))
            for key, points in group_points.items()
        }
        rows = tuple(
            self._topic_row(snapshot, info, in_rates.get(info.name), out_rates)
            for info in snapshot.topics
        )
        hops = [
            Hop(g.group_id, g.topic, g.out_rate, g.lag, g.lag_seconds, g.stalled)
            for row in rows
            for g in row.groups
        ]
        return TopicsOverview(
            freshness=latest.freshness,
            taken_at=snapshot.taken_at,
            age_seconds=latest.age_seconds,
            topics=rows,
            pipeline=build_pipeline([t.name for t in snapshot.topics], in_rates, hops),
            dead_letters=snapshot.dead_letter_counts(),
        )

    def _topic_row(
        self,
        snapshot: KafkaSnapshot,
        info: TopicInfo,
        in_rate: float | None,
        out_rates: dict[tuple[str, str], float | None],
    ) -> TopicRow:
        by_group: dict[str, list[GroupPosition]] = {}
        for position in snapshot.positions:
            if position.topic == info.name:
                by_group.setdefault(position.group_id, []).append(position)
        groups = {g.group_id: g for g in snapshot.groups}
        on_topic = tuple(
            self._group_on_topic(
                snapshot,
                groups.get(group_id),
                group_id,
                positions,
                in_rate,
                out_rates.get((group_id, info.name)),
            )
            for group_id, positions in sorted(by_group.items())
        )
        known_out = [g.out_rate for g in on_topic if g.out_rate is not None]
        return TopicRow(
            info=info,
            records=snapshot.records_on(info.name),
            in_rate=in_rate,
            out_rate=sum(known_out) if known_out else None,
            groups=on_topic,
        )

    def _group_on_topic(
        self,
        snapshot: KafkaSnapshot,
        group: GroupInfo | None,
        group_id: str,
        positions: list[GroupPosition],
        in_rate: float | None,
        out_rate: float | None,
    ) -> GroupOnTopic:
        partitions = tuple(
            PartitionLag(p.partition, p.committed, p.end, p.lag, p.lag_seconds(snapshot.taken_at))
            for p in sorted(positions, key=lambda p: p.partition)
        )
        lag = sum(p.lag for p in partitions)
        known = [p.lag_seconds for p in partitions if p.lag_seconds is not None]
        lag_seconds = max(known) if known else None
        return GroupOnTopic(
            group_id=group_id,
            topic=positions[0].topic,
            state=group.state if group else "Unknown",
            members=len(group.members) if group else 0,
            partitions=partitions,
            out_rate=out_rate,
            catch_up=catch_up(lag, in_rate, out_rate),
            stalled=is_stalled(
                lag,
                out_rate,
                lag_seconds,
                window_seconds=self._window.total_seconds(),
                stall_seconds=self._stall_seconds,
            ),
        )

    async def rate_history(
        self, span: timedelta, now: datetime | None = None, points: int = 360
    ) -> RateHistory:
        """Rates over `span` in about `points` points: each between two kept samples (every
        so many when the span holds more samples than that), so a long span costs no more."""
        since = (now or datetime.now(UTC)) - span
        every = max(1, round(span.total_seconds() / self._sample_seconds / points))
        topics = await self._samples.topic_series(since, every)
        groups = await self._samples.group_series(since, every)
        # Summed per sample from each topic's own rates: a topic the group takes up mid-span
        # does not show as a burst.
        per_group: dict[str, dict[datetime, float]] = {}
        for (group_id, _topic), consumed in groups.items():
            sums = per_group.setdefault(group_id, {})
            for at, step in rate_series([p.point() for p in consumed]):
                sums[at] = sums.get(at, 0.0) + step
        return RateHistory(
            topics_in={t: rate_series(written) for t, written in topics.items()},
            groups_out={g: sorted(sums.items()) for g, sums in per_group.items()},
        )
