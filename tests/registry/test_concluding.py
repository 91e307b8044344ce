"""Verdicts from `verification.verdicts.v1` concluded by the running registry, on the real
broker and database: the code of an authentic verdict issued once per request, the regional
outcome recorded, `VerificationConcluded` and `OutcomePublished` published; a verdict the
catalogue refuses is parked on the dead-letter topic without a code."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from qualverify.registry.v1 import registry_pb2
from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    Event,
    LocalizedText,
    OutcomePublished,
    Verdict,
    VerdictReached,
    VerificationConcluded,
)
from services.contracts.topics import (
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    dead_letter_of,
)
from services.registry.api.app import RunningRegistry, running_registry
from services.runtime.kafka import create_producer
from tests.infra import Infra
from tests.kafka_probe import find_event, skip_history
from tests.registry.support import QUALIFICATION, registry_settings
from tests.runtime.dead_letters import parked
from tests.signing import signed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database)
    await skip_history(
        infra.kafka_bootstrap_servers, settings.consumer_group, [VERDICT_REACHED.name]
    )
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    started = create_producer(infra.kafka_bootstrap_servers, "concluding-test")
    await started.start()
    yield started
    await started.stop()


def verdict(
    verdict: Verdict = Verdict.AUTHENTIC,
    request_id: uuid.UUID | None = None,
    qualification_id: str = QUALIFICATION,
) -> VerdictReached:
    authentic = verdict == Verdict.AUTHENTIC
    return VerdictReached(
        request_id=request_id or uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="tianjin",
        qualification_id=qualification_id,
        holder_ref="hr-" + uuid.uuid4().hex[:12],
        verdict=verdict,
        reason=LocalizedText(zh="证书真实", en="authentic"),
        checks=[
            CheckResult(
                body_id="acca",
                check="record",
                outcome=CheckOutcome.PASSED if authentic else CheckOutcome.FAILED,
            )
        ],
        decided_at=datetime(2025, 6, 1, 8, 30, tzinfo=UTC),
        holder_name="ZHANG Wei" if authentic else None,
    )


async def publish(producer: AIOKafkaProducer, *events: VerdictReached) -> None:
    for event in events:
        value, headers = signed(event)
        await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)


async def published(infra: Infra, topic: str, request_id: uuid.UUID, count: int = 1) -> list[Any]:
    """The first `count` events on `topic` about `request_id`."""
    found: list[Event] = []

    def about(event: Event) -> bool:
        if getattr(event, "request_id", None) == request_id and event not in found:
            found.append(event)
        return len(found) == count

    await find_event(infra.kafka_bootstrap_servers, topic, about)
    return found


async def test_an_authentic_verdict_gets_its_code_outcome_and_conclusion(
    infra: Infra, registry: RunningRegistry, producer: AIOKafkaProducer, stub: Any
) -> None:
    event = verdict()
    await publish(producer, event)

    [conclusion] = await published(infra, VERIFICATION_CONCLUDED.name, event.request_id)
    assert isinstance(conclusion, VerificationConcluded)
    assert conclusion.verdict == Verdict.AUTHENTIC and conclusion.checks == event.checks
    assert conclusion.verification_code and conclusion.statement
    assert "ZHANG Wei" not in conclusion.model_dump_json()
    [outcome] = await published(infra, OUTCOME_PUBLISHED.name, event.request_id)
    assert outcome == OutcomePublished(
        event_id=outcome.event_id,
        occurred_at=outcome.occurred_at,
        request_id=event.request_id,
        region="tianjin",
        qualification_id=QUALIFICATION,
        holder_ref=event.holder_ref,
        verdict=Verdict.AUTHENTIC,
        verification_code=conclusion.verification_code,
        decided_at=event.decided_at,
    )

    stored = await registry.codes.by_request_id(event.request_id)
    assert stored is not None and str(stored.code) == conclusion.verification_code
    assert stored.statement == conclusion.statement
    assert stored.holder_name == "Z**** W**"  # only the masked name is kept
    assert stored.body_ids == ("acca",)
    looked_up = await stub.LookupCode(
        registry_pb2.LookupCodeRequest(code=conclusion.verification_code)
    )
    assert looked_up.status == registry_pb2.CODE_STATUS_VALID
    streamed = stub.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_TIANJIN), timeout=30
    )
    async for response in streamed:
        if response.outcome.request_id == str(event.request_id):
            assert response.outcome.verification_code == conclusion.verification_code
            break
    streamed.cancel()


async def test_a_verdict_that_is_not_authentic_is_concluded_without_a_code(
    infra: Infra, registry: RunningRegistry, producer: AIOKafkaProducer
) -> None:
    event = verdict(Verdict.NOT_AUTHENTIC)
    await publish(producer, event)
    [conclusion] = await published(infra, VERIFICATION_CONCLUDED.name, event.request_id)
    assert conclusion.verdict == Verdict.NOT_AUTHENTIC
    assert conclusion.verification_code is None and conclusion.statement is None
    [outcome] = await published(infra, OUTCOME_PUBLISHED.name, event.request_id)
    assert outcome.verification_code is None
    assert await registry.codes.by_request_id(event.request_id) is None


async def test_one_code_per_request_however_often_it_is_concluded(
    infra: Infra, registry: RunningRegistry, producer: AIOKafkaProducer
) -> None:
    first = verdict()
    decided_again = verdict(request_id=first.request_id).model_copy(
        update={"holder_ref": first.holder_ref}
    )
    await publish(producer, first, first, decided_again)  # a redelivery, then a new event
    conclusions = await published(infra, VERIFICATION_CONCLUDED.name, first.request_id, 2)
    assert len({c.verification_code for c in conclusions}) == 1
    marker = verdict(Verdict.NOT_AUTHENTIC, request_id=first.request_id)  # same partition
    await publish(producer, marker)
    everything = await published(infra, VERIFICATION_CONCLUDED.name, first.request_id, 3)
    assert [c.verdict for c in everything].count(Verdict.AUTHENTIC) == 2  # not 3


async def test_a_verdict_the_catalogue_refuses_is_parked_without_a_code(
    infra: Infra, registry: RunningRegistry, producer: AIOKafkaProducer
) -> None:
    refused = verdict(qualification_id="no-such-qualification")
    following = verdict(request_id=uuid.uuid4())
    await publish(producer, refused, following)

    [headers] = await parked(
        infra.kafka_bootstrap_servers,
        dead_letter_of(VERDICT_REACHED).name,
        lambda h: h.get("event-id") == str(refused.event_id).encode(),
        1,
    )
    assert headers["dead-letter-reason"] == b"handler kept failing"
    assert headers["dead-letter-error"] == b"UnknownQualification"
    assert await registry.codes.by_request_id(refused.request_id) is None
    [conclusion] = await published(infra, VERIFICATION_CONCLUDED.name, following.request_id)
    assert conclusion.verification_code
