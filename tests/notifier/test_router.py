"""The notifier's subscriber and its delivery log on the real broker and database, as the
service runs them: the registry's conclusion reaches the employer's webhook and mailbox, each
attempt is published on employer.deliveries.v1 (no address in clear), and intake's replay
request sends a given-up webhook again with its id."""

import asyncio
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.contracts.events import (
    DeliveryReplayRequested,
    DeliveryStatus,
    DeliveryUpdated,
    Event,
)
from services.contracts.topics import DELIVERY_UPDATED
from services.notifier.domain.webhooks import RETRY_SCHEDULE
from services.notifier.store.repository import delivery_id
from services.runtime.kafka import create_producer
from tests.e2e.conftest import verify_standard_webhook
from tests.infra import Infra
from tests.kafka_probe import find_event
from tests.notifier.events import concluded, configured, new_secret
from tests.notifier.receiver import RecordingEndpoint
from tests.notifier.running import publish, running_notifier
from tests.notifier.smtp import Mailbox

pytestmark = pytest.mark.integration
ADDRESS = "hr.team@employer.example.cn"
PENDING, DELIVERED = DeliveryStatus.PENDING, DeliveryStatus.DELIVERED


@pytest_asyncio.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    producer = create_producer(infra.kafka_bootstrap_servers, "notifier-router-test")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def logged(
    webhook_id: str, status: DeliveryStatus, replayed: bool = False
) -> Callable[[Event], bool]:
    def matches(event: Event) -> bool:
        return (
            isinstance(event, DeliveryUpdated)
            and event.webhook_id == webhook_id
            and event.status == status
            and (event.replayed_at is not None) == replayed
        )

    return matches


async def test_a_conclusion_is_delivered_and_each_attempt_published_in_the_log(
    infra: Infra,
    notifier_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    endpoint: RecordingEndpoint,
    mailbox: Mailbox,
) -> None:
    bootstrap, employer, secret = infra.kafka_bootstrap_servers, uuid4(), new_secret()
    endpoint.status_codes = [503]  # the first attempt fails, the second is accepted
    async with running_notifier(bootstrap, notifier_pool, mailbox.port, time_scale=1e-4):
        await publish(producer, configured(employer, {endpoint.url: secret}, [ADDRESS]))
        await until_configured(notifier_pool, employer)
        conclusion = concluded(employer)
        await publish(producer, conclusion)

        (webhook,) = await endpoint.wait_for(1)
        mail = await mailbox.next()
        hook_id = delivery_id(conclusion.event_id, endpoint.url)
        mail_id = delivery_id(conclusion.event_id, "mailto:" + ADDRESS)
        # Read while the notifier runs: its relay publishes each entry just after the attempt.
        retrying = await find_event(bootstrap, DELIVERY_UPDATED.name, logged(hook_id, PENDING))
        delivered = await find_event(bootstrap, DELIVERY_UPDATED.name, logged(hook_id, DELIVERED))
        emailed = await find_event(bootstrap, DELIVERY_UPDATED.name, logged(mail_id, DELIVERED))
    assert webhook.headers["webhook-id"] == hook_id and verify_standard_webhook(secret, webhook)
    assert conclusion.verification_code is not None
    assert conclusion.verification_code.encode() in webhook.body
    assert mail["To"] == ADDRESS

    assert isinstance(retrying, DeliveryUpdated) and isinstance(delivered, DeliveryUpdated)
    assert (retrying.attempts, retrying.last_error) == (1, "HTTP 503")
    assert retrying.next_attempt_at is not None
    assert (delivered.attempts, delivered.last_error) == (2, None)
    assert delivered.updated_at > retrying.updated_at
    assert isinstance(emailed, DeliveryUpdated)
    assert emailed.destination == "mailto:h***@employer.example.cn"
    assert ADDRESS not in emailed.model_dump_json()


async def test_intakes_replay_request_sends_a_given_up_webhook_again_with_its_id(
    infra: Infra,
    notifier_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    endpoint: RecordingEndpoint,
) -> None:
    bootstrap, employer, secret = infra.kafka_bootstrap_servers, uuid4(), new_secret()
    endpoint.status_codes = [500] * len(RETRY_SCHEDULE)
    async with running_notifier(bootstrap, notifier_pool):
        await publish(producer, configured(employer, {endpoint.url: secret}))
        await until_configured(notifier_pool, employer)
        conclusion = concluded(employer)
        await publish(producer, conclusion)
        hook_id = delivery_id(conclusion.event_id, endpoint.url)
        await find_event(bootstrap, DELIVERY_UPDATED.name, logged(hook_id, DeliveryStatus.FAILED))
        assert endpoint.delivered() == []

        await publish(producer, DeliveryReplayRequested(employer_id=uuid4(), webhook_id=hook_id))
        replay = DeliveryReplayRequested(employer_id=employer, webhook_id=hook_id)
        await publish(producer, replay, replay)  # twice: the second arrives as a duplicate
        (webhook,) = await endpoint.wait_for(1)
        accepted = await find_event(
            bootstrap, DELIVERY_UPDATED.name, logged(hook_id, PENDING, replayed=True)
        )
        await until_delivered(notifier_pool, hook_id)
    assert webhook.headers["webhook-id"] == hook_id and verify_standard_webhook(secret, webhook)
    assert isinstance(accepted, DeliveryUpdated) and accepted.replayed_at is not None
    assert accepted.attempts == len(RETRY_SCHEDULE)
    assert await attempts(notifier_pool, hook_id) == len(RETRY_SCHEDULE) + 1, "replayed once"


async def until_configured(pool: asyncpg.Pool, employer: UUID) -> None:
    """Topics are not ordered with each other: the configuration is there before the result."""
    async with asyncio.timeout(30):
        query = "SELECT count(*) FROM webhook_endpoints WHERE employer_id = $1"
        while not await pool.fetchval(query, employer):
            await asyncio.sleep(0.02)


async def until_delivered(pool: asyncpg.Pool, webhook_id: str) -> None:
    async with asyncio.timeout(30):
        query = "SELECT status = 'delivered' FROM deliveries WHERE webhook_id = $1"
        while not await pool.fetchval(query, webhook_id):
            await asyncio.sleep(0.02)


async def attempts(pool: asyncpg.Pool, webhook_id: str) -> int:
    count: int = await pool.fetchval(
        "SELECT attempts FROM deliveries WHERE webhook_id = $1", webhook_id
    )
    return count
