"""The broker's own account of topics and consumer groups, never the services' counters: it
stays true when a service is dead.

Reads topics (partitions, retention, cleanup policy), every partition's log start and end,
every consumer group's state, members and committed offsets, and for each group lagging on a
partition the timestamp of the record at its committed offset (the oldest it has not
consumed), through aiokafka's admin client and a consumer that belongs to no group.
"""

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import for_code

from services.console.domain.offsets import (
    GroupInfo,
    GroupMember,
    GroupPosition,
    KafkaSnapshot,
    Partition,
    PartitionOffsets,
    TopicInfo,
    group_positions,
)
from services.runtime.kafka_cluster import DEVELOPMENT, KafkaCluster

_CONFIGS = ("retention.ms", "cleanup.policy")
# Record timestamps already read, by (topic, partition, offset): a record never changes, so a
# group stuck on one record costs one fetch, not one per sample.
_TIMESTAMP_CACHE_SIZE = 4096


class KafkaAdmin:
    """One connection set to the broker, used by one task at a time (the sampler)."""

    def __init__(
        self,
        admin: AIOKafkaAdminClient,
        consumer: AIOKafkaConsumer,
        *,
        timeout_seconds: float,
        probe_seconds: float,
    ) -> None:
        self._admin = admin
        self._consumer = consumer
        self._timeout = timeout_seconds
        self._probe_seconds = probe_seconds
        self._timestamps: OrderedDict[tuple[str, int, int], datetime] = OrderedDict()

    async def snapshot(self) -> KafkaSnapshot:
        """Everything at once; raises KafkaError or TimeoutError while the broker is away."""
        async with asyncio.timeout(self._timeout):
            topics = await self._topics()
            logs = await self._logs(topics)
            groups, positions = await self._groups(logs)
            positions = await self._with_oldest_unconsumed(positions)
        return KafkaSnapshot(
            taken_at=datetime.now(UTC),
            topics=tuple(topics),
            offsets=tuple(logs.values()),
            groups=tuple(groups),
            positions=tuple(positions),
        )

    async def _topics(self) -> list[TopicInfo]:
        described = await self._admin.describe_topics()
        counts = {
            t["topic"]: len(t["partitions"])
            for t in described
            if not t["is_internal"] and not t["topic"].startswith("__") and not t["error_code"]
        }
        if not counts:
            return []
        configs = await self._topic_configs(sorted(counts))
        return [
            TopicInfo(
                name=name,
                partitions=counts[name],
                retention_ms=_retention(configs.get(name, {}).get("retention.ms")),
                cleanup_policy=configs.get(name, {}).get("cleanup.policy") or "delete",
            )
            for name in sorted(counts)
        ]

    async def _topic_configs(self, names: Sequence[str]) -> dict[str, dict[str, str | None]]:
        resources = [
            ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(_CONFIGS))
            for name in names
        ]
        found: dict[str, dict[str, str | None]] = {}
        for response in await self._admin.describe_configs(resources):
            for resource in response.to_object()["resources"]:
                if resource["error_code"]:  # deleted meanwhile: no configs to show
                    continue
                found[resource["resource_name"]] = {
                    entry["config_names"]: entry["config_value"]
                    for entry in resource["config_entries"]
                }
        return found

    async def _logs(self, topics: Iterable[TopicInfo]) -> dict[Partition, PartitionOffsets]:
        partitions = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
        if not partitions:
            return {}
        starts = await self._consumer.beginning_offsets(partitions)
        ends = await self._consumer.end_offsets(partitions)
        return {
            Partition(tp.topic, tp.partition): PartitionOffsets(
                tp.topic, tp.partition, starts[tp], ends[tp]
            )
            for tp in sorted(partitions)
        }

    async def _groups(
        self, logs: dict[Partition, PartitionOffsets]
    ) -> tuple[list[GroupInfo], list[GroupPosition]]:
        listed = await self._admin.list_consumer_groups()
        names = sorted({name for name, protocol, *_ in listed if protocol in ("consumer", "")})
        described = await asyncio.gather(*(self._group(name, logs) for name in names))
        groups = [group for group, _ in described]
        positions = [p for _, found in described for p in found]
        return groups, positions

    async def _group(
        self, name: str, logs: dict[Partition, PartitionOffsets]
    ) -> tuple[GroupInfo, list[GroupPosition]]:
        group = await self._describe_group(name)
        offsets = await self._admin.list_consumer_group_offsets(name)
        committed = {
            Partition(tp.topic, tp.partition): meta.offset
            for tp, meta in offsets.items()
            if meta.offset >= 0
        }
        return group, group_positions(name, committed, group.assigned(), logs)

    async def _describe_group(self, group_id: str) -> GroupInfo:
        # One group per request: aiokafka 0.14 decodes the DescribeGroups v3 response with the
        # v2 layout, which misreads every group after the first.
        (response,) = await self._admin.describe_consumer_groups([group_id])
        (group,) = response.to_object()["groups"]
        if group["error_code"]:
            raise for_code(group["error_code"])(f"cannot describe group {group_id}")
        return GroupInfo(
            group_id=group_id,
            state=group["state"],
            members=tuple(_member(m) for m in group["members"]),
        )

    async def _with_oldest_unconsumed(self, positions: list[GroupPosition]) -> list[GroupPosition]:
        wanted = {
            (p.topic, p.partition, p.position)
            for p in positions
            if p.lag > 0 and (p.topic, p.partition, p.position) not in self._timestamps
        }
        if wanted:
            self._remember(await self._read_timestamps(wanted))
        return [
            replace(
                p, oldest_unconsumed_at=self._timestamps.get((p.topic, p.partition, p.position))
            )
            if p.lag > 0
            else p
            for p in positions
        ]

    async def _read_timestamps(
        self, wanted: set[tuple[str, int, int]]
    ) -> dict[tuple[str, int, int], datetime]:
        """The timestamp of the first record at or after each wanted offset (a compacted or
        expired offset has none of its own), reading at most one fetch per partition."""
        found: dict[tuple[str, int, int], datetime] = {}
        # Several groups may wait at different offsets of one partition: one round each.
        rounds: list[dict[TopicPartition, int]] = []
        for topic, partition, offset in sorted(wanted):
            tp = TopicPartition(topic, partition)
            free = next((r for r in rounds if tp not in r), None)
            if free is None:
                free = {}
                rounds.append(free)
            free[tp] = offset
        for seeks in rounds:
            found.update(await self._first_records(seeks))
        return found

    async def _first_records(
        self, seeks: dict[TopicPartition, int]
    ) -> dict[tuple[str, int, int], datetime]:
        found: dict[tuple[str, int, int], datetime] = {}
        self._consumer.assign(list(seeks))
        try:
            for tp, offset in seeks.items():
                self._consumer.seek(tp, offset)
            pending = set(seeks)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._probe_seconds):
                    while pending:
                        batches = await self._consumer.getmany(*pending, timeout_ms=200)
                        for tp, records in batches.items():
                            if records and tp in pending:
                                pending.discard(tp)
                                found[(tp.topic, tp.partition, seeks[tp])] = datetime.fromtimestamp(
                                    records[0].timestamp / 1000, UTC
                                )
        finally:
            self._consumer.assign([])  # stop fetching in the background
        return found

    def _remember(self, found: dict[tuple[str, int, int], datetime]) -> None:
        for key, timestamp in found.items():
            self._timestamps[key] = timestamp
            self._timestamps.move_to_end(key)
        while len(self._timestamps) > _TIMESTAMP_CACHE_SIZE:
            self._timestamps.popitem(last=False)


def _retention(value: str | None) -> int | None:
    if value is None or int(value) < 0:
        return None
    return int(value)


def _member(raw: dict[str, Any]) -> GroupMember:
    assigned: tuple[Partition, ...] = ()
    if raw["member_assignment"]:
        assignment = ConsumerProtocolMemberAssignment.decode(raw["member_assignment"])
        assigned = tuple(Partition(tp.topic, tp.partition) for tp in assignment.partitions())
    return GroupMember(
        member_id=raw["member_id"],
        client_id=raw["client_id"],
        client_host=raw["client_host"],
        assigned=assigned,
    )


@contextlib.asynccontextmanager
async def connect(
    bootstrap: str,
    *,
    client_id: str = "console",
    timeout_seconds: float = 15.0,
    probe_seconds: float = 2.0,
    cluster: KafkaCluster = DEVELOPMENT,
) -> AsyncIterator[KafkaAdmin]:
    """Started clients for as long as the block runs; raises KafkaError if the broker is away."""
    request_timeout_ms = int(timeout_seconds * 1000)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        request_timeout_ms=request_timeout_ms,
        **cluster.client_options(),
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        **cluster.client_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=request_timeout_ms,
        # Only one record per partition is wanted; the broker still returns a whole first batch.
        max_partition_fetch_bytes=16 * 1024,
        fetch_max_bytes=1024 * 1024,
    )
    try:
        await admin.start()
        await consumer.start()
        yield KafkaAdmin(
            admin, consumer, timeout_seconds=timeout_seconds, probe_seconds=probe_seconds
        )
    finally:
        await consumer.stop()
        await admin.close()
