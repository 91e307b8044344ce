"""Dead letters: what is parked on each `.dlq` topic, with previews masked, and the operator's
two actions on a parked record, replay and discard, each recorded once and audited."""

from dataclasses import dataclass

from services.console.adapters.dead_letters import DeadLetterTopics
from services.console.domain.dead_letters import (
    ActionKind,
    DeadLetterAction,
    NotReplayable,
    ParkedRecord,
)
from services.console.domain.offsets import KafkaSnapshot
from services.console.domain.roles import Operator
from services.console.store.audit import AuditLog
from services.console.store.dead_letters import DeadLetterActions, RecordKey
from services.console.usecases.sampling import Sampler
from services.contracts.topics import producer_of
from services.runtime.event_auth import TrustedProducers, UnauthenticatedEvent

MAX_REASON_LENGTH = 500


class OperatorRequired(PermissionError):
    """Only the role `operator` may replay or discard."""


class DeadLetterNotFound(LookupError):
    """No such record on a dead-letter topic (wrong address, or removed by retention)."""


class ReasonRequired(ValueError):
    """A discard needs a reason (at most MAX_REASON_LENGTH characters)."""


@dataclass(frozen=True)
class ParkedEntry:
    record: ParkedRecord
    action: DeadLetterAction | None  # None: still waiting for an operator


@dataclass(frozen=True)
class DeadLetterTopicView:
    topic: str
    count: int
    entries: tuple[ParkedEntry, ...]  # the newest, newest first
    older_before: int | None = None  # where the page of older records starts, if any


class DeadLetters:
    def __init__(
        self,
        topics: DeadLetterTopics,
        actions: DeadLetterActions,
        audit: AuditLog,
        sampler: Sampler,
        trusted: TrustedProducers | None = None,
    ) -> None:
        self._topics = topics
        self._actions = actions
        self._audit = audit
        self._sampler = sampler
        self._trusted = trusted

    def counts(self) -> dict[str, int]:
        """Records on each dead-letter topic, from the latest sample of the broker."""
        snapshot = self._sampler.latest().snapshot
        return snapshot.dead_letter_counts() if snapshot else {}

    async def topic(
        self, topic: str, limit: int = 50, before: int | None = None
    ) -> DeadLetterTopicView:
        """The newest `limit` parked records (below offset `before`, if given), newest first,
        each with what an operator did with it."""
        info = _dead_letter_topic(self._sampler.latest().snapshot, topic)
        page = await self._topics.newest(topic, info, limit, before)
        actions: dict[tuple[int, int], DeadLetterAction] = {}
        if page.records:
            actions = await self._actions.actions_on(
                topic, min(r.offset for r in page.records), max(r.offset for r in page.records)
            )
        newest_first = sorted(page.records, key=lambda r: (r.timestamp, r.offset), reverse=True)
        entries = tuple(ParkedEntry(r, actions.get((r.partition, r.offset))) for r in newest_first)
        older_before = (
            min((r.offset for r in page.records), default=None) if page.has_older else None
        )
        return DeadLetterTopicView(topic, page.count, entries, older_before)

    async def replay(self, operator: Operator, key: RecordKey) -> ParkedRecord:
        """Sends the record back to its source topic, signed by its producer; once only."""
        _require_operator(operator)
        record = await self._parked(key)
        replay = record.replay()
        if self._trusted is not None:
            try:  # it would only be parked again
                self._trusted.authenticate(replay.topic, replay.key, replay.value, replay.headers)
            except UnauthenticatedEvent as error:
                raise NotReplayable(
                    f"the original signature does not verify ({error.kind}); "
                    f"{producer_of(replay.topic) or 'no service'} owns {replay.topic}"
                ) from error
        async with self._actions.claim(key, ActionKind.REPLAYED, operator.username, None):
            await self._topics.publish(replay)
        await self._audit.record(
            actor=operator.username,
            action="dead_letter.replay",
            target=str(key),
            detail={
                "source": f"{replay.topic}/{replay.partition}",
                "reason": record.reason_kind,
            },
        )
        return record

    async def discard(self, operator: Operator, key: RecordKey, reason: str) -> ParkedRecord:
        """Marks the record as dealt with, for the reason given; it stays on the topic until
        its retention ends."""
        _require_operator(operator)
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON_LENGTH:
            raise ReasonRequired(f"a reason of 1 to {MAX_REASON_LENGTH} characters is required")
        record = await self._parked(key)
        async with self._actions.claim(key, ActionKind.DISCARDED, operator.username, reason):
            pass
        await self._audit.record(
            actor=operator.username,
            action="dead_letter.discard",
            target=str(key),
            detail={"reason": reason},
        )
        return record

    async def _parked(self, key: RecordKey) -> ParkedRecord:
        _dead_letter_topic(self._sampler.latest().snapshot, key.topic)
        record = await self._topics.one(key.topic, key.partition, key.offset)
        if record is None:
            raise DeadLetterNotFound(f"no record {key}")
        return record


def _require_operator(operator: Operator) -> None:
    if not operator.may_act:
        raise OperatorRequired(f"{operator.username} is a viewer; acting needs role operator")


def _dead_letter_topic(snapshot: KafkaSnapshot | None, topic: str) -> int:
    """The partition count of a dead-letter topic the broker has; refuses any other topic (the
    console replays from dead-letter topics only)."""
    if not topic.endswith(".dlq"):
        raise DeadLetterNotFound(f"{topic} is not a dead-letter topic")
    if snapshot is None:  # no sample yet: dead-letter topics have one partition
        return 1
    info = snapshot.topic(topic)
    if info is None:
        raise DeadLetterNotFound(f"the broker has no topic {topic}")
    return info.partitions
