"""Dead-letter topics on the broker: reading parked records (a consumer in no group, so the
console's reading moves no one's offsets) and sending a replay back to its source topic."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from services.console.domain.dead_letters import ParkedRecord, Replay
from services.runtime.kafka import create_producer
from services.runtime.kafka_cluster import DEVELOPMENT, KafkaCluster


@dataclass(frozen=True)
class ParkedPage:
    topic: str
    count: int  # records kept on the topic
    records: tuple[ParkedRecord, ...]  # the newest `limit`, oldest first
    has_older: bool = False  # records older than these are still kept


class DeadLetterTopics:
    """`producer`: one already started, else the first replay starts one (so the console
    starts, and shows the broker away, while Kafka is down)."""

    def __init__(
        self,
        bootstrap: str,
        producer: AIOKafkaProducer | None = None,
        *,
        client_id: str = "console-dead-letters",
        timeout_seconds: float = 10.0,
        cluster: KafkaCluster = DEVELOPMENT,
    ) -> None:
        self._bootstrap = bootstrap
        self._cluster = cluster
        self._producer = producer
        self._owns_producer = producer is None
        self._producer_lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self._reader_lock = asyncio.Lock()
        self._client_id = client_id
        self._timeout = timeout_seconds

    async def close(self) -> None:
        await self._drop_reader()
        if self._owns_producer and self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _started_producer(self) -> AIOKafkaProducer:
        async with self._producer_lock:
            if self._producer is None:
                producer = create_producer(self._bootstrap, self._client_id, self._cluster)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def newest(
        self, topic: str, partitions: int, limit: int, before: int | None = None
    ) -> ParkedPage:
        """The newest `limit` records of each partition (dead-letter topics have one), or the
        newest below offset `before`, for the page of older ones."""
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        async with asyncio.timeout(self._timeout), self._reader() as consumer:
            starts = await consumer.beginning_offsets(tps)
            ends = await consumer.end_offsets(tps)
            tops = {tp: ends[tp] if before is None else min(ends[tp], before) for tp in tps}
            ranges = {tp: (max(starts[tp], tops[tp] - limit), tops[tp]) for tp in tps}
            records = await _read_ranges(consumer, ranges)
        count = sum(ends[tp] - starts[tp] for tp in tps)
        older = any(ranges[tp][0] > starts[tp] for tp in tps)
        return ParkedPage(topic, count, tuple(records), older)

    async def one(self, topic: str, partition: int, offset: int) -> ParkedRecord | None:
        """The record at that offset, or None if it does not exist (any more)."""
        tp = TopicPartition(topic, partition)
        async with asyncio.timeout(self._timeout), self._reader() as consumer:
            start = (await consumer.beginning_offsets([tp]))[tp]
            end = (await consumer.end_offsets([tp]))[tp]
            if not start <= offset < end:
                return None
            found = await _read_ranges(consumer, {tp: (offset, offset + 1)})
        return found[0] if found and found[0].offset == offset else None

    async def publish(self, replay: Replay) -> None:
        """Sends the record to its source partition as its producer signed it."""
        async with asyncio.timeout(self._timeout):
            producer = await self._started_producer()
            await producer.send_and_wait(
                replay.topic,
                replay.value,
                key=replay.key,
                headers=replay.headers,
                partition=replay.partition,
            )

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[AIOKafkaConsumer]:
        """The one reading consumer, kept between pages (starting one costs more than the
        read), used by one page at a time; dropped after any failure, so the next read starts
        afresh once the broker is back."""
        async with self._reader_lock:
            if self._consumer is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    **self._cluster.client_options(),
                    group_id=None,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    request_timeout_ms=int(self._timeout * 1000),
                )
                try:
                    await consumer.start()
                except BaseException:
                    await consumer.stop()
                    raise
                self._consumer = consumer
            try:
                yield self._consumer
            except BaseException:
                await self._drop_reader()
                raise
            finally:
                if self._consumer is not None:
                    self._consumer.assign([])  # no fetching in the background between pages

    async def _drop_reader(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()


async def _read_ranges(
    consumer: AIOKafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]]
) -> list[ParkedRecord]:
    """The records of each partition from its first offset up to (not including) its last."""
    wanted = {tp: span for tp, span in ranges.items() if span[0] < span[1]}
    if not wanted:
        return []
    consumer.assign(list(wanted))
    for tp, (first, _) in wanted.items():
        consumer.seek(tp, first)
    records: list[ParkedRecord] = []
    pending = set(wanted)
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=500)
        for tp, batch in batches.items():
            records += [_parked(r) for r in batch if r.offset < wanted[tp][1]]
        # An offset may hold no record (a transaction marker): the position tells when done.
        pending = {tp for tp in pending if await consumer.position(tp) < wanted[tp][1]}
    return sorted(records, key=lambda r: (r.partition, r.offset))


def _parked(record: ConsumerRecord[bytes, bytes]) -> ParkedRecord:
    return ParkedRecord(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=tuple(record.headers),
    )
