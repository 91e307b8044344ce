"""Intake's outbox relay on real PostgreSQL and Kafka, publishing through intake's FastStream
publishers: every accepted request's event is published once, signed by intake, and its row
deleted; a crash between publishing and deleting only republishes (the same event id), which
consumers de-duplicate."""

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contracts.events import (
    CertificateClaim,
    HolderClaim,
    VerificationRequested,
    decode,
)
from services.contracts.topics import VERIFICATION_REQUESTED
from services.intake.store.repository import IntakeStore
from services.runtime.outbox import OutboxRelay
from tests.infra import Infra
from tests.intake.conftest import PublishingBroker
from tests.intake.support import credit_code, intake_pool


@pytest_asyncio.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await intake_pool(fresh_database)
    yield pool
    await pool.close()


async def accept(store: IntakeStore, count: int) -> set[uuid.UUID]:
    """Accept `count` requests through the store (each with its outbox row)."""
    employer_id, _ = await store.create_employer(credit_code(5000 + count), "Relay Ltd.")
    event_ids = set()
    for n in range(count):
        event = VerificationRequested(
            request_id=uuid.uuid4(),
            employer_id=employer_id,
            region="hebei",
            qualification_id="aws-e94e5145",
            body_ids=["aws"],
            holder=HolderClaim(name="N", nationality="CHN", holder_ref=f"ref-{uuid.uuid4()}"),
            certificate=CertificateClaim(number=f"R-{n}", issued_on=date(2024, 1, 1)),
        )
        now = datetime.now(UTC)
        submission = await store.submit(event, now, now + timedelta(seconds=5), None, None)
        assert submission.created
        event_ids.add(event.event_id)
    return event_ids


async def published_ids(bootstrap: str) -> Counter[uuid.UUID]:
    """Every event id on the topic up to its current end, with how often it appears; each
    record signed by intake."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(VERIFICATION_REQUESTED.name, p)
            for p in range(VERIFICATION_REQUESTED.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: Counter[uuid.UUID] = Counter()
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    assert record.value is not None
                    assert ("qv-signer", b"intake") in record.headers
                    seen[decode(record.value, dict(record.headers)).event_id] += 1
        return seen
    finally:
        await consumer.stop()


async def test_every_outbox_row_is_published_once_and_deleted(
    infra: Infra, pool: asyncpg.Pool, intake_broker: PublishingBroker
) -> None:
    event_ids = await accept(IntakeStore(pool), 5)
    relay = OutboxRelay(pool, intake_broker.publishers)
    assert await relay.publish_batch() == 5
    assert await relay.publish_batch() == 0
    assert await pool.fetchval("SELECT count(*) FROM intake.outbox") == 0
    seen = await published_ids(infra.kafka_bootstrap_servers)
    assert {event_id: seen[event_id] for event_id in event_ids} == dict.fromkeys(event_ids, 1)


async def test_a_crash_between_publish_and_delete_only_republishes(
    infra: Infra, pool: asyncpg.Pool, intake_broker: PublishingBroker
) -> None:
    event_ids = await accept(IntakeStore(pool), 3)
    # The relay "dies" after Kafka acknowledged the batch but before its delete commits.
    await pool.execute(
        "CREATE FUNCTION intake.crash() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'relay killed'; END $$"
    )
    await pool.execute(
        "CREATE TRIGGER crash BEFORE DELETE ON intake.outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION intake.crash()"
    )
    relay = OutboxRelay(pool, intake_broker.publishers)
    with pytest.raises(asyncpg.RaiseError):
        await relay.publish_batch()
    assert await pool.fetchval("SELECT count(*) FROM intake.outbox") == 3  # nothing lost
    await pool.execute("DROP TRIGGER crash ON intake.outbox")
    assert (
        await OutboxRelay(pool, intake_broker.publishers).publish_batch() == 3
    )  # the restarted relay
    assert await pool.fetchval("SELECT count(*) FROM intake.outbox") == 0
    seen = await published_ids(infra.kafka_bootstrap_servers)
    # Republished with the same event ids: consumers, which de-duplicate by id, apply each once.
    assert {event_id: seen[event_id] for event_id in event_ids} == dict.fromkeys(event_ids, 2)
