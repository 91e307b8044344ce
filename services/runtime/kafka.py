"""Kafka adapters: explicit topic creation, an idempotent producer, and a batch consumer that
commits only after its handler has durably stored the effect."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from services.contracts.events import Event, UnknownEvent, decode
from services.contracts.topics import TopicSpec, dead_letter_of
from services.runtime.event_auth import (
    EVENTS_UNAUTHENTICATED,
    SIGNATURE_HEADERS,
    EventKeys,
    UnauthenticatedEvent,
)
from services.runtime.observability import (
    CONSUMER_LAG,
    ERRORS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
)
from services.runtime.resilience import TRANSIENT_ERRORS, describe

log = logging.getLogger(__name__)


async def ensure_topics(bootstrap: str, topics: Sequence[TopicSpec], replication: int = 1) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(t.name, t.partitions, replication, topic_configs=dict(t.configs))
            for t in topics
            if t.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                await admin.create_topics(missing)
        await _reconcile_configs(admin, [t for t in topics if t.name in existing and t.configs])
    finally:
        await admin.close()


# DescribeConfigs' `config_source` of a value set on the topic itself (not a broker default).
_TOPIC_OVERRIDE = 1


async def _reconcile_configs(admin: AIOKafkaAdminClient, topics: Sequence[TopicSpec]) -> None:
    """Gives topics that already exist the configs we declare for them (a topic created before
    a config was added, say compaction settings, keeps its old ones otherwise).

    Only the declared keys change: the legacy AlterConfigs request (aiokafka has no incremental
    one) replaces all of a topic's overrides, so the ones it already has are sent back as they
    are. Partitions and replication are not touched here.
    """
    if not topics:
        return
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in topics]
    )
    overrides: dict[str, dict[str, str | None]] = {}
    for response in described:
        for resource in response.to_object()["resources"]:
            _raise_for(resource)
            overrides[resource["resource_name"]] = {
                entry["config_names"]: entry["config_value"]
                for entry in resource["config_entries"]
                if _is_override(entry)
            }
    changes: list[ConfigResource] = []
    for topic in topics:
        current = overrides.get(topic.name, {})
        stale = sorted(k for k, v in topic.configs.items() if current.get(k) != v)
        if not stale:
            continue
        if any(value is None for value in current.values()):  # a sensitive override: unknown
            log.warning(
                "topic configs not updated: an override cannot be read back",
                extra={"topic": topic.name, "configs": stale},
            )
            continue
        changes.append(
            ConfigResource(ConfigResourceType.TOPIC, topic.name, {**current, **topic.configs})
        )
        log.info("updating topic configs", extra={"topic": topic.name, "configs": stale})
    if changes:
        for response in await admin.alter_configs(changes):
            for resource in response.to_object()["resources"]:
                _raise_for(resource)


def _is_override(entry: dict[str, Any]) -> bool:
    if "config_source" in entry:  # DescribeConfigs v1 and later
        return bool(entry["config_source"] == _TOPIC_OVERRIDE)
    return not entry["is_default"]


def _raise_for(resource: dict[str, Any]) -> None:
    if resource["error_code"]:
        error = for_code(resource["error_code"])
        raise error(f"{resource['resource_name']}: {resource['error_message']}")


async def wait_for_group_coordinator(bootstrap: str, group_id: str) -> None:
    """Returns once the broker names the group's coordinator.

    On a fresh cluster the first group makes the broker create its offsets topic, and until
    then aiokafka's consumer logs every retry at ERROR; asking through the admin client first
    keeps this normal part of a start out of the error log.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        delay = 0.05
        while True:
            try:
                await admin.find_coordinator(group_id)
                return
            except KafkaError as error:
                if not error.retriable:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    finally:
        await admin.close()


def create_producer(bootstrap: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
    )


@dataclass(frozen=True)
class ConsumedEvent:
    event: Event
    traceparent: str | None
    topic: str
    partition: int
    offset: int
    record: ConsumerRecord[bytes, bytes] = field(repr=False, compare=False)


Record = ConsumerRecord[bytes, bytes]
UNAUTHENTICATED = "unauthenticated-producer"
BatchHandler = Callable[[list[ConsumedEvent]], Awaitable[None]]


class EventConsumer:
    """Consumes batches; the handler must store each effect idempotently before returning.

    Offsets are committed only after the handler returns, so a crash means redelivery, never
    loss. Transient failures (database or broker unreachable) are retried without end; an event
    that keeps failing for any other reason, or cannot be decoded, is parked on its topic's
    dead-letter topic so it cannot block its partition forever.
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        group_id: str,
        topics: Sequence[TopicSpec],
        handler: BatchHandler,
        producer: AIOKafkaProducer,
        keys: EventKeys,
        max_batch: int = 500,
        max_attempts: int = 3,
    ) -> None:
        self._topics = {t.name: t for t in topics}
        self._keys = keys
        self._group_id = group_id
        self._handler = handler
        self._producer = producer
        self._max_attempts = max_attempts
        self._max_batch = max_batch
        self._bootstrap = bootstrap
        self._consumer = self._new_consumer()
        self._consumer_stopped = False
        self.started = asyncio.Event()

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._max_batch,
        )

    async def run(self) -> None:
        """Consumes until cancelled or the broker fails; run again (`keep_running`) it starts
        afresh from the committed offsets."""
        if self._consumer_stopped:  # a stopped consumer cannot start again
            self._consumer = self._new_consumer()
            self._consumer_stopped = False
        try:
            await wait_for_group_coordinator(self._bootstrap, self._group_id)
            await self._consumer.start()
            self.started.set()
            while True:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self._max_batch)
                records = [record for part in batches.values() for record in part]
                if records:
                    await self._process(records)
                    await self._consumer.commit()
                    self._record_lag(batches)
        finally:
            self._consumer_stopped = True
            await self._consumer.stop()

    async def _process(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        events: list[ConsumedEvent] = []
        for record in records:
            EVENTS_CONSUMED.labels(record.topic).inc()
            try:
                self._keys.trusted.authenticate(
                    record.topic, record.key, record.value, record.headers
                )
                events.append(_decode(record))
            except UnauthenticatedEvent as error:
                EVENTS_UNAUTHENTICATED.labels(record.topic, error.kind).inc()
                await self._dead_letter(record, UNAUTHENTICATED, error)
            except (UnknownEvent, ValueError) as error:
                await self._dead_letter(record, f"undecodable: {error}", error)
        if events and await self._attempt(events) is not None:
            for event in events:  # isolate the poison event from its batch
                failure = await self._attempt([event])
                if failure is not None:
                    await self._dead_letter(event.record, "handler kept failing", failure)

    async def _attempt(self, events: list[ConsumedEvent]) -> Exception | None:
        """None once the handler stored the batch, else its last non-transient error."""
        delay = 0.2
        attempts = 0
        while True:
            try:
                await self._handler(events)
                return None
            except TRANSIENT_ERRORS as error:
                ERRORS.labels("consumer_transient").inc()
                log.warning("transient failure, retrying", extra={"error": describe(error)})
            except Exception as error:
                attempts += 1
                ERRORS.labels("consumer_handler").inc()
                # No traceback: its last line is the error's text, which may carry personal data.
                log.error("handler failed", extra={"attempt": attempts, "error": describe(error)})
                if attempts >= self._max_attempts:
                    return error
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str, error: Exception
    ) -> None:
        """Parks the record as it arrived, signed by this service, saying who parked it, why
        and where from; its original signature is kept under `source-` names."""
        topic = dead_letter_of(self._topics[record.topic]).name
        headers = [
            *(
                (f"source-{name}" if name in SIGNATURE_HEADERS else name, content)
                for name, content in record.headers
            ),
            ("dead-letter-reason", reason.encode()),
            ("dead-letter-group", self._group_id.encode()),
            ("dead-letter-error", type(error).__name__.encode()),
            ("source-topic", record.topic.encode()),
            ("source-offset", f"{record.partition}:{record.offset}".encode()),
        ]
        signed = self._keys.signer.signed_headers(topic, record.key, record.value, headers)
        await self._producer.send_and_wait(topic, record.value, key=record.key, headers=signed)
        EVENTS_DEAD_LETTERED.labels(record.topic).inc()
        log.error(  # never the payload or the error text: either may carry personal data
            "record dead-lettered",
            extra={
                "topic": record.topic,
                "offset": f"{record.partition}:{record.offset}",
                "reason": reason.split(":", 1)[0],
                "error_class": type(error).__name__,
                "group": self._group_id,
            },
        )

    def _record_lag(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> None:
        for tp, records in batches.items():
            highwater = self._consumer.highwater(tp)
            if highwater is not None and records:
                lag = max(highwater - records[-1].offset - 1, 0)
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(lag)


def _decode(record: ConsumerRecord[bytes, bytes]) -> ConsumedEvent:
    headers = {key: value for key, value in record.headers}
    if record.value is None:
        raise ValueError("empty record")
    traceparent = headers.get("traceparent")
    return ConsumedEvent(
        event=decode(record.value, headers),
        traceparent=traceparent.decode() if traceparent else None,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        record=record,
    )
