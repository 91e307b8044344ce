"""Reading a topic from the beginning in a test, to assert that an event was published."""

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from services.contracts.events import Event, decode


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
                assert record.value is not None
                event = decode(record.value, dict(record.headers))
                if matches(event):
                    return event
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")
