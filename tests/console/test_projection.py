"""The console's subscriber (services/console/events/router.py) on the real broker and
PostgreSQL: signed events of one request, sent twice and out of order across topics, give the
same picture as in order; the holder's name is kept only masked and sealed, the certificate
number never; poison is parked."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.console.domain.flow import FlowStage
from services.console.events.router import CONSUMED_TOPICS, PROJECTION, projection_router
from services.console.store.projection import Projection
from services.console.store.sealed_names import NameBox
from services.contracts.events import (
    BodyContact,
    CertificateClaim,
    CheckOutcome,
    CheckResult,
    Event,
    HolderClaim,
    LocalizedText,
    OutcomePublished,
    QualificationWithdrawn,
    Stage,
    Verdict,
    VerdictReached,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
    encode,
)
from services.contracts.topics import ALL_TOPICS, OUTCOME_PUBLISHED, dead_letter_of
from services.runtime.event_auth import EventKeys
from services.runtime.kafka import create_producer, ensure_topics
from services.runtime.messaging import new_broker, start_broker
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from tests.infra import Infra
from tests.kafka_probe import skip_history
from tests.signing import signed

pytestmark = pytest.mark.integration

CERTIFICATE = "AWS-68234618"
HOLDER_REF = "ref-5f1c0a9e"
NAME = "Kenji Nguyen"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest_asyncio.fixture(scope="module")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    await ensure_topics(infra.kafka_bootstrap_servers, ALL_TOPICS)
    producer = create_producer(infra.kafka_bootstrap_servers, "console-projection-test")
    await producer.start()
    yield producer
    await producer.stop()


@pytest_asyncio.fixture(scope="module")
async def projection(
    infra: Infra, console_pool: asyncpg.Pool, producer: AIOKafkaProducer
) -> AsyncIterator[Projection]:
    """The console's subscriber as the service runs it, in a consumer group of its own."""
    bootstrap = infra.kafka_bootstrap_servers
    projection = Projection(console_pool, NameBox(os.urandom(32)))
    group = f"console-test-{uuid.uuid4()}"
    await skip_history(bootstrap, group, [t.name for t in CONSUMED_TOPICS])
    keys = EventKeys.load("console")
    consumption = ReliableConsumption(
        group=group, trusted=keys.trusted, inbox=PostgresInbox(console_pool), topics=ALL_TOPICS
    )
    broker = new_broker(
        bootstrap,
        "console",
        keys.signer,
        consumption=consumption,
        routers=[projection_router(group)],
    )
    broker.context.set_global(PROJECTION, projection)
    await start_broker(broker, bootstrap, ALL_TOPICS, [group])
    yield projection
    await broker.stop()


def events_of(request_id: UUID) -> dict[str, Event]:
    employer_id = uuid.uuid4()
    checks = [CheckResult(body_id="aws", check="record", outcome=CheckOutcome.PASSED)]
    return {
        "requested": VerificationRequested(
            request_id=request_id,
            employer_id=employer_id,
            region="beijing",
            qualification_id="aws-e94e5145",
            body_ids=["aws"],
            holder=HolderClaim(
                name=NAME, name_zh="阮健二", nationality="JPN", holder_ref=HOLDER_REF
            ),
            certificate=CertificateClaim(number=CERTIFICATE, issued_on=date(2023, 9, 27)),
            occurred_at=T0,
        ),
        "waiting": VerificationProgressed(
            request_id=request_id,
            employer_id=employer_id,
            stage=Stage.WAITING_FOR_BODY,
            expected_completion_at=T0 + timedelta(seconds=31),
            occurred_at=T0 + timedelta(seconds=1),
        ),
        "parked": VerificationProgressed(
            request_id=request_id,
            employer_id=employer_id,
            stage=Stage.PARKED,
            expected_completion_at=T0 + timedelta(hours=48),
            note=LocalizedText(zh="已向颁发机构发出查询", en="An enquiry was sent"),
            occurred_at=T0 + timedelta(seconds=5),
        ),
        "verdict": VerdictReached(
            request_id=request_id,
            employer_id=employer_id,
            region="beijing",
            qualification_id="aws-e94e5145",
            holder_ref=HOLDER_REF,
            verdict=Verdict.AUTHENTIC,
            reason=LocalizedText(zh="证书真实", en="The certificate is authentic"),
            checks=checks,
            holder_name=NAME,
            decided_at=T0 + timedelta(hours=2),
            contacts=[BodyContact(body_id="aws", channel="signed_credential", seconds=7200.0)],
            occurred_at=T0 + timedelta(hours=2),
        ),
        "concluded": VerificationConcluded(
            request_id=request_id,
            employer_id=employer_id,
            region="beijing",
            qualification_id="aws-e94e5145",
            holder_ref=HOLDER_REF,
            verdict=Verdict.AUTHENTIC,
            reason=LocalizedText(zh="证书真实", en="The certificate is authentic"),
            checks=checks,
            verification_code="0EEN-2D2S-MS4A-PSD0-X",
            statement="eyJhbGciOiJFZERTQSJ9.e30.c2lnbmF0dXJl",
            decided_at=T0 + timedelta(hours=2),
            contacts=[BodyContact(body_id="aws", channel="signed_credential", seconds=7200.0)],
            occurred_at=T0 + timedelta(hours=2, seconds=1),
        ),
        "outcome": OutcomePublished(
            request_id=request_id,
            region="beijing",
            qualification_id="aws-e94e5145",
            holder_ref=HOLDER_REF,
            verdict=Verdict.AUTHENTIC,
            verification_code="0EEN-2D2S-MS4A-PSD0-X",
            decided_at=T0 + timedelta(hours=2),
            occurred_at=T0 + timedelta(hours=2, seconds=3),
        ),
    }


async def publish(producer: AIOKafkaProducer, *events: Event) -> None:
    for event in events:
        value, headers = signed(event)
        await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def notified(projection: Projection, request_id: UUID) -> bool:
    detail = await projection.request(request_id)
    return (
        detail is not None
        and detail.flow.notified_at is not None
        and (detail.flow.accepted_at is not None)
    )


async def test_twice_and_out_of_order_gives_the_same_picture_as_in_order(
    producer: AIOKafkaProducer, projection: Projection
) -> None:
    in_order, shuffled = uuid.uuid4(), uuid.uuid4()
    await publish(producer, *events_of(in_order).values())
    later = events_of(shuffled)
    # Outcome first, the later stage before the earlier one, the request last; each twice.
    backwards = [
        later[k] for k in ("outcome", "concluded", "verdict", "parked", "waiting", "requested")
    ]
    await publish(producer, *backwards, *backwards)
    await eventually(lambda: notified(projection, in_order))
    await eventually(lambda: notified(projection, shuffled))
    await eventually(lambda: _history_complete(projection, shuffled))

    first, second = await projection.request(in_order), await projection.request(shuffled)
    assert first is not None and second is not None
    for detail in (first, second):
        flow = detail.flow
        assert (flow.accepted_at, flow.waiting_at, flow.parked_at) == (
            T0,
            T0 + timedelta(seconds=1),
            T0 + timedelta(seconds=5),
        )
        assert flow.stage == "parked"  # the later stage, whatever arrived last
        assert flow.expected_completion_at == T0 + timedelta(hours=48)
        assert flow.decided_at == T0 + timedelta(hours=2)
        assert flow.notified_at == T0 + timedelta(hours=2, seconds=3)
        assert flow.current is FlowStage.NOTIFIED
        assert (flow.verdict, flow.region, flow.qualification_id) == (
            "authentic",
            "beijing",
            "aws-e94e5145",
        )
        assert flow.body_ids == ("aws",)
        assert detail.reason is not None and detail.reason.en == "The certificate is authentic"
        assert detail.checks[0]["outcome"] == "passed"
        assert [(c.body_id, c.seconds) for c in detail.contacts] == [("aws", 7200.0)]
        assert [h.kind for h in detail.history] == [
            "requested",
            "progressed",
            "progressed",
            "decided",
            "concluded",
            "notified",
        ]
        assert detail.history[-2].note is not None  # the code was issued
        assert detail.holder_name_masked == "K**** N***** / 阮**"
        assert projection.unseal_name(detail) == f"{NAME} / 阮健二"


async def _history_complete(projection: Projection, request_id: UUID) -> bool:
    detail = await projection.request(request_id)
    return detail is not None and len(detail.history) == 6


async def test_the_store_never_holds_the_certificate_number_nor_the_name_in_clear(
    producer: AIOKafkaProducer, projection: Projection, console_pool: asyncpg.Pool
) -> None:
    request_id = uuid.uuid4()
    await publish(producer, *events_of(request_id).values())
    await eventually(lambda: notified(projection, request_id))
    tables = ("flow_requests", "flow_events", "flow_contacts")
    rows = []
    for table in tables:
        rows += await console_pool.fetch(f"SELECT row_to_json(t)::text FROM {table} t")
    dumped = " ".join(row[0] for row in rows)
    assert str(request_id) in dumped
    for secret in (CERTIFICATE, HOLDER_REF, NAME, "Kenji", "Nguyen", "阮健二"):
        assert secret not in dumped


async def test_withdrawals_keep_the_latest_announcement(
    producer: AIOKafkaProducer, projection: Projection
) -> None:
    qualification = f"test-{uuid.uuid4().hex[:8]}"
    first = QualificationWithdrawn(
        qualification_id=qualification,
        edition_id="2025",
        withdrawn_on=date(2026, 9, 1),
        reason="first",
        occurred_at=T0,
    )
    moved = QualificationWithdrawn(
        qualification_id=qualification,
        edition_id="2025",
        withdrawn_on=date(2026, 10, 1),
        reason="moved",
        occurred_at=T0 + timedelta(days=1),
    )
    await publish(producer, moved, first, moved)

    async def both_seen() -> bool:
        # `first` came after `moved`; once it is consumed the answer must still be `moved`.
        return (await projection.observed_since()) is not None and (
            qualification in await projection.withdrawals()
        )

    await eventually(both_seen)
    await asyncio.sleep(1.0)
    found = (await projection.withdrawals())[qualification]
    assert (found.withdrawn_on, found.reason) == (date(2026, 10, 1), "moved")


async def test_an_unsigned_outcome_is_parked_on_its_dead_letter_topic(
    infra: Infra, producer: AIOKafkaProducer, projection: Projection
) -> None:
    request_id = uuid.uuid4()
    outcome = events_of(request_id)["outcome"]
    value, headers = encode(outcome)  # not signed by the registry
    await producer.send_and_wait(OUTCOME_PUBLISHED.name, value, key=outcome.key(), headers=headers)
    parked = dead_letter_of(OUTCOME_PUBLISHED).name
    consumer = AIOKafkaConsumer(
        parked,
        bootstrap_servers=infra.kafka_bootstrap_servers,
        group_id=f"probe-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            async for record in consumer:
                if record.value == value:
                    reason = dict(record.headers)["dead-letter-reason"]
                    assert reason == b"unauthenticated-producer"
                    break
    finally:
        await consumer.stop()
    assert await projection.request(request_id) is None
