"""The console's subscriber: the platform's events of the flow of verifications and of the
catalogue, projected into the console's store (one transaction per consumed batch).

It consumes through the platform's `EventConsumer` (group `console`), which verifies each
record's signature, commits only after the batch is stored and dead-letters poison.
"""

from aiokafka import AIOKafkaProducer

from services.console.store.projection import Projection
from services.contracts.topics import (
    CATALOGUE_CHANGES,
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_PROGRESSED,
    VERIFICATION_REQUESTED,
    dead_letter_of,
)
from services.runtime.event_auth import EventKeys
from services.runtime.kafka import BatchHandler, ConsumedEvent, EventConsumer
from services.runtime.startup import start_producer

GROUP_ID = "console"
CONSUMED_TOPICS = (
    VERIFICATION_REQUESTED,
    VERIFICATION_PROGRESSED,
    VERDICT_REACHED,
    OUTCOME_PUBLISHED,
    CATALOGUE_CHANGES,
)


def projection_handler(projection: Projection) -> BatchHandler:
    async def handle(batch: list[ConsumedEvent]) -> None:
        await projection.apply([consumed.event for consumed in batch])

    return handle


def projection_consumer(
    *,
    bootstrap: str,
    projection: Projection,
    producer: AIOKafkaProducer,
    keys: EventKeys,
    group_id: str = GROUP_ID,
) -> EventConsumer:
    """The consumer to run beside the console's web server (`consumer.run`)."""
    return EventConsumer(
        bootstrap=bootstrap,
        group_id=group_id,
        topics=CONSUMED_TOPICS,
        handler=projection_handler(projection),
        producer=producer,
        keys=keys,
    )


async def run_projection(bootstrap: str, projection: Projection, keys: EventKeys) -> None:
    """The subscriber as a loop of the service: it waits for the broker (the console serves
    its pages meanwhile), and its producer parks poison on the dead-letter topics."""
    parking = [dead_letter_of(topic) for topic in CONSUMED_TOPICS]
    producer = await start_producer(bootstrap, "console", [*CONSUMED_TOPICS, *parking])
    try:
        consumer = projection_consumer(
            bootstrap=bootstrap, projection=projection, producer=producer, keys=keys
        )
        await consumer.run()
    finally:
        await producer.stop()
