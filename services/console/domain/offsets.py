"""What the broker says about its topics and consumer groups at one moment: pure data and the
arithmetic of lag, no I/O."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.contracts.topics import producer_of

DEAD_LETTER_SUFFIX = ".dlq"


@dataclass(frozen=True, order=True)
class Partition:
    topic: str
    partition: int


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    retention_ms: int | None  # None: kept forever (retention.ms = -1) or unknown
    cleanup_policy: str  # "delete", "compact" or "compact,delete"

    @property
    def compacted(self) -> bool:
        return "compact" in self.cleanup_policy

    @property
    def is_dead_letter(self) -> bool:
        return self.name.endswith(DEAD_LETTER_SUFFIX)

    @property
    def producer(self) -> str | None:
        """The service that owns this topic, if any (dead-letter topics: the consuming ones)."""
        return producer_of(self.name)


@dataclass(frozen=True)
class PartitionOffsets:
    """The log of one partition: its first offset still kept and the next offset to be written."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def records(self) -> int:
        return max(self.end - self.start, 0)


@dataclass(frozen=True)
class GroupMember:
    member_id: str
    client_id: str
    client_host: str
    assigned: tuple[Partition, ...]


@dataclass(frozen=True)
class GroupInfo:
    group_id: str
    state: str  # as the coordinator names it: Stable, Empty, PreparingRebalance, Dead...
    members: tuple[GroupMember, ...]

    def assigned(self) -> set[Partition]:
        return {p for member in self.members for p in member.assigned}


@dataclass(frozen=True)
class GroupPosition:
    """One group on one partition. `position` is the committed offset, or the log start where
    the group has committed nothing there yet (the platform's consumers start from the earliest
    record). `oldest_unconsumed_at` is the timestamp of the record at `position`: None when the
    group is caught up, or when the broker did not hand that record over in time."""

    group_id: str
    topic: str
    partition: int
    committed: int | None
    position: int
    end: int
    oldest_unconsumed_at: datetime | None = None

    @property
    def lag(self) -> int:
        return max(self.end - self.position, 0)

    def lag_seconds(self, now: datetime) -> float | None:
        """Max lag time: the age of the oldest record the group has not consumed; 0 when caught
        up, None when unknown."""
        if self.lag == 0:
            return 0.0
        if self.oldest_unconsumed_at is None:
            return None
        return max((now - self.oldest_unconsumed_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class KafkaSnapshot:
    taken_at: datetime
    topics: tuple[TopicInfo, ...]
    offsets: tuple[PartitionOffsets, ...]
    groups: tuple[GroupInfo, ...]
    positions: tuple[GroupPosition, ...] = field(default=())

    def topic(self, name: str) -> TopicInfo | None:
        return next((t for t in self.topics if t.name == name), None)

    def records_on(self, topic: str) -> int:
        return sum(o.records for o in self.offsets if o.topic == topic)

    def dead_letter_counts(self) -> dict[str, int]:
        return {t.name: self.records_on(t.name) for t in self.topics if t.is_dead_letter}

    def group_lag(self) -> dict[tuple[str, str], int]:
        """Total lag of each (group, topic)."""
        totals: dict[tuple[str, str], int] = {}
        for p in self.positions:
            totals[(p.group_id, p.topic)] = totals.get((p.group_id, p.topic), 0) + p.lag
        return totals

    def group_lag_seconds(self) -> dict[tuple[str, str], float | None]:
        """Max lag time of each (group, topic): its slowest partition whose oldest record is
        known (a lower bound if another partition's is not); None when none is known."""
        worst: dict[tuple[str, str], float | None] = {}
        for p in self.positions:
            key = (p.group_id, p.topic)
            seconds = p.lag_seconds(self.taken_at)
            known = [s for s in (worst.get(key), seconds) if s is not None]
            worst[key] = max(known) if known else None
        return worst


def group_positions(
    group_id: str,
    committed: Mapping[Partition, int],
    assigned: Iterable[Partition],
    logs: Mapping[Partition, PartitionOffsets],
) -> list[GroupPosition]:
    """Every partition of every topic the group commits to or is assigned, with its position.

    A partition the group has committed nothing to (no record reached it yet, or the group has
    just started) counts from the log start, where the platform's consumers begin.
    """
    topics = {p.topic for p in committed} | {p.topic for p in assigned}
    positions: list[GroupPosition] = []
    for partition, log in sorted(logs.items()):
        if partition.topic not in topics:
            continue
        offset = committed.get(partition)
        positions.append(
            GroupPosition(
                group_id=group_id,
                topic=partition.topic,
                partition=partition.partition,
                committed=offset,
                position=log.start if offset is None else offset,
                end=log.end,
            )
        )
    return positions
