"""Reading a topic from the beginning in a test, to assert that an event was published."""

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contracts.events import Event, decode
from services.contracts.topics import ALL_TOPICS
from services.runtime.kafka import ensure_topics


async def find_event(
    bootstrap: str, topic: str, matches: Callable[[Event], bool], timeout: float = 30
) -> Event:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            async for record in consumer:
                event = decoded(record.value, dict(record.headers))
                if event is not None and matches(event):
                    return event
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")


def decoded(value: bytes | None, headers: dict[str, bytes]) -> Event | None:
    """The record's event, or None for one no consumer would take (tests park such records on
    the shared broker's topics on purpose)."""
    try:
        return decode(value or b"", headers)
    except ValueError:  # UnknownEvent, pydantic's ValidationError
        return None


async def skip_history(bootstrap: str, group_id: str, topics: list[str]) -> None:
    """Commit the log end of `topics` for `group_id`, so a consumer of that group starts with
    what is published from now on, not with what other tests left on the shared broker."""
    await ensure_topics(bootstrap, ALL_TOPICS)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        counts = {spec.name: spec.partitions for spec in ALL_TOPICS}
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in range(counts[topic])
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()
