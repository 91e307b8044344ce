"""Forged events on the real platform: a stranger who can write to the flow's topics (no key,
a key of its own, or the key of a service that does not own the topic) changes nothing in the
registry's codes and regional outcomes or the notifier's deliveries. A forged verdict is parked
by each of its consumers (the registry, the console), a forged conclusion by each of its own
(intake, the notifier, the console), as `unauthenticated-producer`; a genuine verdict after
the forgeries goes all the way to a delivery."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    Event,
    LocalizedText,
    Verdict,
    VerdictReached,
    VerificationConcluded,
    encode,
)
from services.contracts.topics import VERDICT_REACHED, VERIFICATION_CONCLUDED, dead_letter_of
from services.runtime.event_auth import EventSigner
from services.runtime.kafka import create_producer
from tests.e2e.conftest import RunningPlatform
from tests.notifier.events import concluded, configured, new_secret
from tests.runtime.dead_letters import parked
from tests.signing import signed, signer_of

pytestmark = pytest.mark.e2e

Forged = list[tuple[VerdictReached | VerificationConcluded, list[tuple[str, bytes]]]]
# The consumer groups of each forged topic: every one of them parks every forgery.
PARKED_BY = (
    (VERDICT_REACHED, {b"registry", b"console"}),
    (VERIFICATION_CONCLUDED, {b"intake", b"notifier", b"console"}),
)


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
    await producer.send_and_wait(topic, value, key=event.key(), headers=headers)


def verdict(employer_id: uuid.UUID) -> VerdictReached:
    """An authentic verdict as the verifier sends it to the registry."""
    return VerdictReached(
        request_id=uuid.uuid4(),
        employer_id=employer_id,
        region="beijing",
        qualification_id="aws-e94e5145",
        holder_ref="hr-" + uuid.uuid4().hex[:12],
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="颁证机构确认证书", en="The awarding body confirmed it"),
        checks=[CheckResult(body_id="aws", check="record", outcome=CheckOutcome.PASSED)],
        decided_at=datetime.now(UTC),
        holder_name="ZHANG Wei",
    )


def forgeries(employer_id: uuid.UUID) -> Forged:
    """A well-formed verdict and conclusion, each unsigned, signed by a random key, and signed
    by intake (a service that owns neither topic)."""
    strangers = [None, EventSigner("verifier", Ed25519PrivateKey.generate()), signer_of("intake")]
    forged: Forged = []
    for stranger in strangers:
        for event in (verdict(employer_id), concluded(employer_id)):
            value, headers = encode(event)
            if stranger is not None:
                headers = stranger.signed_headers(event.topic.name, event.key(), value, headers)
            forged.append((event, headers))
    return forged


async def test_forged_events_change_nothing_and_are_parked(
    platform: RunningPlatform, producer: AIOKafkaProducer
) -> None:
    employer_id = uuid.uuid4()
    hooks = configured(employer_id, {"https://hooks.example.com/qv": new_secret()})
    await send(producer, hooks, signed(hooks)[1])
    forged = forgeries(employer_id)
    db = await asyncpg.connect(platform.platform.database_url)
    try:
        await until(
            db,
            "SELECT count(*) FROM notifier.webhook_endpoints WHERE employer_id = $1",
            employer_id,
        )
        for event, headers in forged:
            await send(producer, event, headers)
        genuine = verdict(employer_id)  # signed by the verifier, after the forgeries
        await send(producer, genuine, signed(genuine)[1])
        await until(
            db, "SELECT count(*) FROM registry.outcomes WHERE request_id = $1", genuine.request_id
        )
        await until(
            db, "SELECT count(*) FROM notifier.deliveries WHERE request_id = $1", genuine.request_id
        )
        await all_parked(platform, forged)  # each consumer has seen, and refused, each forgery
        forged_requests = [event.request_id for event, _ in forged]
        for effect in (
            "SELECT count(*) FROM registry.outcomes WHERE request_id = ANY($1::uuid[])",
            "SELECT count(*) FROM registry.verification_codes WHERE request_id = ANY($1::uuid[])",
            "SELECT count(*) FROM notifier.deliveries WHERE request_id = ANY($1::uuid[])",
        ):
            assert await db.fetchval(effect, forged_requests) == 0, effect
        forged_ids = [event.event_id for event, _ in forged]
        for schema in ("registry", "intake", "notifier", "console"):
            consumed = f"SELECT count(*) FROM {schema}.consumed_events WHERE event_id = ANY($1)"
            assert await db.fetchval(consumed, forged_ids) == 0, schema
    finally:
        await db.close()


async def all_parked(platform: RunningPlatform, forged: Forged) -> None:
    for topic, groups in PARKED_BY:
        wanted = {str(e.event_id).encode() for e, _ in forged if e.topic == topic}
        copies = await parked(
            platform.platform.kafka_bootstrap_servers,
            dead_letter_of(topic).name,
            lambda headers: headers.get("event-id") in wanted,  # noqa: B023 (awaited at once)
            count=len(wanted) * len(groups),
            timeout=60,
        )
        assert {h["dead-letter-reason"] for h in copies} == {b"unauthenticated-producer"}
        assert {(h["event-id"], h["dead-letter-group"]) for h in copies} == {
            (event_id, group) for event_id in wanted for group in groups
        }


async def until(db: asyncpg.Connection, count_query: str, *args: object) -> None:
    """Waits until `count_query` counts at least one row."""
    async with asyncio.timeout(60):
        while not await db.fetchval(count_query, *args):
            await asyncio.sleep(0.1)
