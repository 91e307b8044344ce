"""What intake consumes, on the real Kafka broker: catalogue withdrawals (kept across a
restart), verdicts with the bodies' answer times (the expected completion time follows), and
progress (status `verifying`)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.contracts.events import (
    BodyContact,
    Event,
    LocalizedText,
    QualificationWithdrawn,
    Stage,
    Verdict,
    VerdictReached,
    VerificationProgressed,
)
from services.contracts.topics import ALL_TOPICS
from services.intake.catalogue import EditionCatalogue
from services.intake.events.handlers import CONSUMED_TOPICS, intake_handler
from services.intake.store.repository import IntakeStore
from services.runtime.event_auth import EventKeys
from services.runtime.kafka import EventConsumer, create_producer, ensure_topics
from tests.infra import Infra
from tests.intake.support import (
    QUALIFICATION,
    application,
    client_for,
    credit_code,
    intake_app,
    write_channels,
)
from tests.kafka_probe import skip_history
from tests.signing import signed

WITHDRAWN = "microsoft-af6e6653"  # Azure Solutions Architect Expert


@pytest_asyncio.fixture(scope="module")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    await ensure_topics(infra.kafka_bootstrap_servers, ALL_TOPICS)
    producer = create_producer(infra.kafka_bootstrap_servers, "intake-events-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture(scope="module")
def catalogue() -> EditionCatalogue:
    return EditionCatalogue.load()


@pytest_asyncio.fixture(scope="module")
async def consuming(
    infra: Infra, pool: asyncpg.Pool, producer: AIOKafkaProducer, catalogue: EditionCatalogue
) -> AsyncIterator[IntakeStore]:
    """Intake's consumer, as the service runs it, in its own consumer group."""
    store = IntakeStore(pool)
    group = f"intake-test-{uuid.uuid4()}"
    # Only this module's events: other tests' verdicts are still on the shared broker.
    await skip_history(infra.kafka_bootstrap_servers, group, [t.name for t in CONSUMED_TOPICS])
    consumer = EventConsumer(
        bootstrap=infra.kafka_bootstrap_servers,
        group_id=group,
        topics=CONSUMED_TOPICS,
        handler=intake_handler(store, catalogue),
        producer=producer,
        keys=EventKeys.load("intake"),
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    yield store
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture(scope="module")
def app(
    consuming: IntakeStore, catalogue: EditionCatalogue, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    channels: Path = write_channels(tmp_path_factory.mktemp("channels"))
    return intake_app(consuming, channels, catalogue)


@pytest_asyncio.fixture
async def employer(app: Any, consuming: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, consuming, credit_code(6001)) as client:
        yield client


async def publish(producer: AIOKafkaProducer, *events: Event) -> None:
    for event in events:
        value, headers = signed(event)
        await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def test_a_withdrawal_on_kafka_refuses_new_requests_and_survives_a_restart(
    producer: AIOKafkaProducer,
    employer: httpx.AsyncClient,
    consuming: IntakeStore,
    catalogue: EditionCatalogue,
) -> None:
    body = application("AZ-1", qualification_id=WITHDRAWN)
    assert (await employer.post("/v1/verifications/check", json=body)).status_code == 200
    today = datetime.now(UTC).date()
    withdrawal = QualificationWithdrawn(
        qualification_id=WITHDRAWN, edition_id="2025", withdrawn_on=today, reason="exit"
    )
    await publish(producer, withdrawal, withdrawal)  # a duplicate changes nothing

    async def refused() -> bool:
        response = await employer.post("/v1/verifications/check", json=body)
        return bool(response.json().get("type") == "/problems/withdrawn-qualification")

    await eventually(refused)
    submitted = await employer.post("/v1/verifications", json=body)
    assert submitted.status_code == 422
    assert submitted.json()["type"] == "/problems/withdrawn-qualification"
    restarted = EditionCatalogue.load()  # a new process: the edition alone does not know
    assert restarted.facts(WITHDRAWN).withdrawn is False  # type: ignore[union-attr]
    restarted.replace_withdrawals(await consuming.withdrawals())
    assert restarted.facts(WITHDRAWN).withdrawn is True  # type: ignore[union-attr]
    assert catalogue.facts(QUALIFICATION).withdrawn is False  # type: ignore[union-attr]


async def test_expected_completion_follows_answer_times_seen_on_kafka(
    producer: AIOKafkaProducer, employer: httpx.AsyncClient, consuming: IntakeStore
) -> None:
    created = (await employer.post("/v1/verifications", json=application("AWS-K1"))).json()
    accepted_at = datetime.fromisoformat(created["accepted_at"])
    assert datetime.fromisoformat(created["expected_completion_at"]) - accepted_at == timedelta(
        seconds=5
    )  # the channel's configured turnaround, nothing observed yet
    employer_id = UUID(
        str(await consuming._pool.fetchval("SELECT employer_id FROM requests LIMIT 1"))
    )
    verdicts = [
        _verdict(employer_id, [BodyContact(body_id="aws", channel="credential_api", seconds=0.5)])
        for _ in range(3)
    ]
    await publish(producer, *verdicts)

    async def follows() -> bool:
        read = (await employer.get(f"/v1/verifications/{created['id']}")).json()
        expected = datetime.fromisoformat(read["expected_completion_at"])
        return expected - accepted_at == timedelta(seconds=0.5)

    await eventually(follows)


async def test_progress_on_kafka_makes_a_request_verifying(
    producer: AIOKafkaProducer, employer: httpx.AsyncClient, consuming: IntakeStore
) -> None:
    created = (await employer.post("/v1/verifications", json=application("AWS-K2"))).json()
    employer_id = UUID(
        str(
            await consuming._pool.fetchval(
                "SELECT employer_id FROM requests WHERE id = $1", UUID(created["id"])
            )
        )
    )
    progress = VerificationProgressed(
        request_id=UUID(created["id"]), employer_id=employer_id, stage=Stage.PARKED
    )
    await publish(producer, progress)

    async def verifying() -> bool:
        read = (await employer.get(f"/v1/verifications/{created['id']}")).json()
        return bool(read["status"] == "verifying" and read["stage"] == "parked")

    await eventually(verifying)


def _verdict(employer_id: UUID, contacts: list[BodyContact]) -> VerdictReached:
    return VerdictReached(
        request_id=uuid.uuid4(),
        employer_id=employer_id,
        region="beijing",
        qualification_id=QUALIFICATION,
        holder_ref="ref",
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="真实", en="authentic"),
        checks=[],
        decided_at=datetime.now(UTC),
        contacts=contacts,
    )
