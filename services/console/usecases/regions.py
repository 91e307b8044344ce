"""The Regions section: for Beijing, Tianjin and Hebei, each regional consumer group's position
and lag (from the broker's sampled metadata, never the services' counters) and each
StreamOutcomes subscriber's last cursor and connection times (from the registry).

Either source may be away; the other is still shown, with what is missing said plainly.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka.errors import KafkaError

from services.console.adapters.registry import RegistryOperator
from services.console.domain.regions import region_of_group
from services.console.domain.registry import REGIONS, OutcomeSubscriber, RegistryProblem
from services.console.store.samples import SampleStore
from services.console.usecases.topics import GroupOnTopic, TopicsOverview, TopicsOverviewReader
from services.runtime.resilience import DATABASE_UNREACHABLE

SUBSCRIBERS_PER_REGION = 10  # the open ones first, then the most recently seen


@dataclass(frozen=True)
class Problem:
    en: str
    zh: str


KAFKA_NOT_CONFIGURED = Problem(
    "The broker's figures are not configured for this console", "本控制台未配置消息代理数据"
)
KAFKA_AWAY = Problem("The broker's figures cannot be read right now", "暂时无法读取消息代理数据")
REGISTRY_NOT_CONFIGURED = Problem(
    "The registry is not configured for this console", "本控制台未配置注册中心"
)


@dataclass(frozen=True)
class RegionView:
    region: str
    groups: tuple[GroupOnTopic, ...]
    subscribers: tuple[OutcomeSubscriber, ...]

    @property
    def connected(self) -> int:
        return sum(1 for s in self.subscribers if s.connected)

    @property
    def lag(self) -> int:
        return sum(g.lag for g in self.groups)


@dataclass(frozen=True)
class RegionsOverview:
    regions: tuple[RegionView, ...]
    kafka_freshness: str  # fresh, stale or unknown (no sample yet)
    kafka_taken_at: datetime | None
    kafka_problem: Problem | None
    registry_problem: Problem | None


class RegionsReader:
    def __init__(
        self, topics: TopicsOverviewReader | None, registry: RegistryOperator | None
    ) -> None:
        self._topics = topics
        self._registry = registry

    async def overview(self) -> RegionsOverview:
        kafka, kafka_problem = await self._kafka()
        subscribers, registry_problem = await self._subscribers()
        groups = [g for row in kafka.topics for g in row.groups] if kafka else []
        return RegionsOverview(
            regions=tuple(region_view(region, groups, subscribers) for region in REGIONS),
            kafka_freshness=kafka.freshness.value if kafka else "unknown",
            kafka_taken_at=kafka.taken_at if kafka else None,
            kafka_problem=kafka_problem,
            registry_problem=registry_problem,
        )

    async def _kafka(self) -> tuple[TopicsOverview | None, Problem | None]:
        if self._topics is None:
            return None, KAFKA_NOT_CONFIGURED
        try:
            return await self._topics.overview(), None
        except (*DATABASE_UNREACHABLE, KafkaError):
            return None, KAFKA_AWAY

    async def _subscribers(self) -> tuple[list[OutcomeSubscriber], Problem | None]:
        if self._registry is None:
            return [], REGISTRY_NOT_CONFIGURED
        found: list[OutcomeSubscriber] = []
        try:
            # One page per region: a region whose system reconnects often hides no other.
            for region in REGIONS:
                found += await self._registry.subscribers(region, limit=SUBSCRIBERS_PER_REGION)
        except RegistryProblem as problem:
            return [], Problem(problem.message_en, problem.message_zh)
        return found, None


@dataclass(frozen=True)
class LagHistory:
    """Each region's consumer lag (its groups together) at each broker sample."""

    times: tuple[datetime, ...]
    lag: dict[str, tuple[int | None, ...]]  # by region; None where it had no group yet


async def lag_history(samples: SampleStore, since: datetime) -> LagHistory:
    by_region: dict[str, dict[datetime, int]] = {region: {} for region in REGIONS}
    times: set[datetime] = set()
    for (group_id, _topic), points in (await samples.group_series(since)).items():
        region = region_of_group(group_id)
        times.update(point.at for point in points)
        if region is None:
            continue
        totals = by_region[region]
        for point in points:
            totals[point.at] = totals.get(point.at, 0) + point.lag
    ordered = tuple(sorted(times))
    return LagHistory(
        times=ordered,
        lag={r: tuple(by_region[r].get(at) for at in ordered) for r in REGIONS},
    )


def region_view(
    region: str, groups: Sequence[GroupOnTopic], subscribers: Sequence[OutcomeSubscriber]
) -> RegionView:
    return RegionView(
        region=region,
        groups=tuple(g for g in groups if region_of_group(g.group_id) == region),
        subscribers=tuple(s for s in subscribers if s.region == region),
    )
