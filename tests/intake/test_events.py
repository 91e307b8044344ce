"""What intake consumes, on the real Kafka broker, through its FastStream subscriber and the
consumption middleware as the service runs them: catalogue withdrawals (kept across a restart),
conclusions with the bodies' answer times (the expected completion time follows), progress
(status `verifying`), and the notifier's delivery updates (the employer's delivery log)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaRouter

from services.contracts.events import (
    BodyContact,
    Event,
    LocalizedText,
    QualificationWithdrawn,
    Stage,
    Verdict,
    VerificationConcluded,
    VerificationProgressed,
)
from services.contracts.topics import ALL_TOPICS
from services.intake.catalogue import EditionCatalogue
from services.intake.events.router import CONSUMED_TOPICS, subscribe
from services.intake.store.repository import IntakeStore
from services.runtime.event_auth import EventKeys
from services.runtime.kafka import create_producer, ensure_topics
from services.runtime.messaging import new_broker, start_broker
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from tests.infra import Infra
from tests.intake.deliveries import delivery_update, given_up
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

pytestmark = pytest.mark.integration

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
    infra: Infra, pool: asyncpg.Pool, catalogue: EditionCatalogue
) -> AsyncIterator[IntakeStore]:
    """Intake's subscriber, as the service runs it, in a consumer group of its own."""
    bootstrap = infra.kafka_bootstrap_servers
    store = IntakeStore(pool)
    group = f"intake-test-{uuid.uuid4()}"
    # Only this module's events: other tests' events are still on the shared broker.
    await skip_history(bootstrap, group, [t.name for t in CONSUMED_TOPICS])
    router = KafkaRouter()
    subscribe(router, group)
    keys = EventKeys.load("intake")
    consumption = ReliableConsumption(
        group=group, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=ALL_TOPICS
    )
    broker = new_broker(bootstrap, "intake", keys.signer, consumption=consumption, routers=[router])
    broker.context.set_global("intake_store", store)
    broker.context.set_global("catalogue", catalogue)
    await start_broker(broker, bootstrap, ALL_TOPICS, [group])
    yield store
    await broker.stop()


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
    conclusions = [
        _concluded(
            uuid.uuid4(),
            employer_id,
            [BodyContact(body_id="aws", channel="credential_api", seconds=0.5)],
        )
        for _ in range(3)
    ]
    await publish(producer, *conclusions)

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


async def _employer_of(store: IntakeStore, request_id: str) -> UUID:
    found = await store._pool.fetchval(
        "SELECT employer_id FROM requests WHERE id = $1", UUID(request_id)
    )
    return UUID(str(found))


async def test_a_conclusion_decides_the_request_once_and_a_late_progress_changes_nothing(
    producer: AIOKafkaProducer, employer: httpx.AsyncClient, consuming: IntakeStore
) -> None:
    created = (await employer.post("/v1/verifications", json=application("AWS-K3"))).json()
    request_id = UUID(created["id"])
    employer_id = await _employer_of(consuming, created["id"])
    concluded = _concluded(
        request_id,
        employer_id,
        [BodyContact(body_id="aws", channel="credential_api", seconds=0.5)],
        code="QV-TEST-CODE",
    )
    late = VerificationProgressed(
        request_id=request_id, employer_id=employer_id, stage=Stage.WAITING_FOR_BODY
    )
    samples_before = await _samples(consuming, "aws")
    await publish(producer, concluded, concluded, late)  # the same key: one partition, in order

    async def decided() -> bool:
        read = (await employer.get(f"/v1/verifications/{request_id}")).json()
        return bool(read["status"] == "authentic")

    await eventually(decided)
    await eventually(lambda: _consumed(consuming, late.event_id))
    read = (await employer.get(f"/v1/verifications/{request_id}")).json()
    assert read["verification_code"] == "QV-TEST-CODE"
    assert [h["status"] for h in read["history"]] == ["accepted", "authentic"]
    assert await _samples(consuming, "aws") == samples_before + 1  # the duplicate counted once
    assert await consuming.statement(employer_id, request_id) == "statement-of-the-registry"


async def test_delivery_updates_make_the_employers_log_and_a_replay_is_asked_of_the_notifier(
    producer: AIOKafkaProducer, employer: httpx.AsyncClient, consuming: IntakeStore
) -> None:
    created = (await employer.post("/v1/verifications", json=application("AWS-K5"))).json()
    employer_id = await _employer_of(consuming, created["id"])
    pending = delivery_update(employer_id, request_id=UUID(created["id"]))
    failed = given_up(pending)
    stranger = delivery_update(uuid.uuid4())
    late = pending.model_copy(update={"event_id": uuid.uuid4()})  # an older state, late
    await publish(producer, pending, failed, late, stranger)

    async def logged() -> bool:
        page = (await employer.get("/v1/webhooks/deliveries")).json()
        return bool(page["items"] and page["items"][0]["status"] == "failed")

    await eventually(logged)
    for event in (late, stranger):
        await eventually(lambda: _consumed(consuming, event.event_id))  # noqa: B023
    page = (await employer.get("/v1/webhooks/deliveries")).json()
    assert [(d["id"], d["status"], d["attempts"]) for d in page["items"]] == [
        (pending.webhook_id, "failed", 1)
    ]
    assert page["items"][0]["last_error"] == "ConnectError"
    assert page["next_before"] is None

    replayed = await employer.post(f"/v1/webhooks/deliveries/{pending.webhook_id}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["id"] == pending.webhook_id
    not_mine = await employer.post(f"/v1/webhooks/deliveries/{stranger.webhook_id}/replay")
    assert not_mine.status_code == 404
    asked = await consuming._pool.fetch(
        "SELECT key, value FROM outbox WHERE topic = 'employer.replays.v1'"
    )
    assert [orjson.loads(row["value"])["webhook_id"] for row in asked] == [pending.webhook_id]
    assert asked[0]["key"] == str(employer_id).encode()


async def _samples(store: IntakeStore, body_id: str) -> int:
    found = await store._pool.fetchval(
        "SELECT samples FROM body_turnaround WHERE body_id = $1", body_id
    )
    return int(found or 0)


async def _consumed(store: IntakeStore, event_id: UUID) -> bool:
    return bool(
        await store._pool.fetchval("SELECT 1 FROM consumed_events WHERE event_id = $1", event_id)
    )


def _concluded(
    request_id: UUID, employer_id: UUID, contacts: list[BodyContact], code: str | None = None
) -> VerificationConcluded:
    return VerificationConcluded(
        request_id=request_id,
        employer_id=employer_id,
        region="beijing",
        qualification_id=QUALIFICATION,
        holder_ref="ref",
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="真实", en="authentic"),
        checks=[],
        decided_at=datetime.now(UTC),
        contacts=contacts,
        verification_code=code,
        statement="statement-of-the-registry" if code else None,
    )
