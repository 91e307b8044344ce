"""Reading parked records back from a dead-letter topic, for tests."""

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

Headers = dict[str, bytes]


async def parked(
    bootstrap: str, topic: str, wanted: Callable[[Headers], bool], count: int, timeout: float = 30
) -> list[Headers]:
    """Headers of the first `count` records on `topic` that `wanted` picks, oldest first."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"dlq-probe-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    found: list[Headers] = []
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            async for record in consumer:
                headers = dict(record.headers)
                if wanted(headers):
                    found.append(headers)
                    if len(found) == count:
                        return found
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")
