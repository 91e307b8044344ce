"""Forged events on the real platform: a stranger who can write to `verification.verdicts.v1`
(no key, a key of its own, or the key of a service that does not own the topic) changes
nothing in the registry's regional outcomes or the notifier's deliveries; every consumer group
parks the record on the dead-letter topic as `unauthenticated-producer`."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.contracts.events import Event, VerdictReached, encode
from services.contracts.topics import VERDICT_REACHED, dead_letter_of
from services.runtime.event_auth import EventSigner
from services.runtime.kafka import create_producer
from tests.e2e.conftest import RunningPlatform
from tests.notifier.events import configured, new_secret, verdict
from tests.runtime.dead_letters import parked
from tests.signing import signed, signer_of

pytestmark = pytest.mark.e2e

GROUPS = {b"intake", b"registry", b"notifier", b"console"}  # every consumer of verdicts
PARTITION = 0  # forged and genuine records on one partition: consumed in this order


@pytest_asyncio.fixture
async def producer(platform: RunningPlatform) -> AsyncIterator[AIOKafkaProducer]:
    """A plain client of the broker, as a stranger with network access would have."""
    producer = create_producer(platform.platform.kafka_bootstrap_servers, "stranger")
    await producer.start()
    yield producer
    await producer.stop()


async def send(producer: AIOKafkaProducer, event: Event, headers: list[tuple[str, bytes]]) -> None:
    value = event.model_dump_json().encode()
    topic = event.topic.name
    await producer.send_and_wait(
        topic, value, key=event.key(), headers=headers, partition=PARTITION
    )


def forgeries(employer_id: uuid.UUID) -> list[tuple[VerdictReached, list[tuple[str, bytes]]]]:
    """The same well-formed verdict, unsigned, signed by a random key, and signed by intake."""
    strangers = [None, EventSigner("verifier", Ed25519PrivateKey.generate()), signer_of("intake")]
    forged = []
    for stranger in strangers:
        event = verdict(employer_id)
        value, headers = encode(event)
        if stranger is not None:
            headers = stranger.signed_headers(event.topic.name, event.key(), value, headers)
        forged.append((event, headers))
    return forged


async def test_forged_verdicts_change_nothing_and_are_parked(
    platform: RunningPlatform, producer: AIOKafkaProducer
) -> None:
    employer_id = uuid.uuid4()
    hooks = configured(employer_id, {"https://hooks.example.com/qv": new_secret()})
    await send(producer, hooks, signed(hooks)[1])
    db = await asyncpg.connect(platform.platform.database_url)
    try:
        await until(
            db,
            "SELECT count(*) FROM notifier.webhook_endpoints WHERE employer_id = $1",
            employer_id,
        )
        forged = forgeries(employer_id)
        for event, headers in forged:
            await send(producer, event, headers)
        genuine = verdict(employer_id)  # signed by the verifier, after the forgeries
        await send(producer, genuine, signed(genuine)[1])
        await until(
            db, "SELECT count(*) FROM registry.outcomes WHERE event_id = $1", genuine.event_id
        )
        await until(
            db,
            "SELECT count(*) FROM notifier.processed_events WHERE event_id = $1",
            genuine.event_id,
        )
        forged_ids = [event.event_id for event, _ in forged]
        forged_requests = [event.request_id for event, _ in forged]
        assert (
            await db.fetchval(
                "SELECT count(*) FROM registry.outcomes WHERE request_id = ANY($1::uuid[])",
                forged_requests,
            )
            == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM notifier.processed_events WHERE event_id = ANY($1::uuid[])",
                forged_ids,
            )
            == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM notifier.deliveries WHERE request_id = ANY($1::uuid[])",
                forged_requests,
            )
            == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM notifier.deliveries WHERE request_id = $1", genuine.request_id
            )
            >= 1
        )
    finally:
        await db.close()

    wanted = {str(event_id).encode() for event_id in forged_ids}
    copies = await parked(
        platform.platform.kafka_bootstrap_servers,
        dead_letter_of(VERDICT_REACHED).name,
        lambda headers: headers.get("event-id") in wanted,
        count=len(wanted) * len(GROUPS),
    )
    assert {h["dead-letter-reason"] for h in copies} == {b"unauthenticated-producer"}
    assert {(h["event-id"], h["dead-letter-group"]) for h in copies} == {
        (event_id, group) for event_id in wanted for group in GROUPS
    }


async def until(db: asyncpg.Connection, count_query: str, *args: object) -> None:
    """Waits until `count_query` counts at least one row."""
    async with asyncio.timeout(60):
        while not await db.fetchval(count_query, *args):
            await asyncio.sleep(0.1)
