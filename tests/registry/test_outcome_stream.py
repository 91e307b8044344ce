"""The regions' outcome stream: verdicts from Kafka concluded into the outcomes table, streamed
by cursor; a client that reconnects with its last cursor misses nothing and sees nothing twice."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from aiokafka import AIOKafkaProducer

from qualverify.registry.v1 import registry_pb2
from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Verdict,
    VerdictReached,
)
from services.contracts.topics import VERDICT_REACHED
from services.registry.api.app import RunningRegistry, running_registry
from services.runtime.kafka import create_producer
from tests.infra import Infra
from tests.kafka_probe import skip_history
from tests.registry.support import (
    QUALIFICATION,
    refusal,
    region_value,
    registry_settings,
)
from tests.signing import signed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database)
    # Only this module's verdicts: others' are still on the shared broker.
    await skip_history(
        infra.kafka_bootstrap_servers, settings.consumer_group, [VERDICT_REACHED.name]
    )
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    started = create_producer(infra.kafka_bootstrap_servers, "outcome-stream-test")
    await started.start()
    yield started
    await started.stop()


def verdict(region: str, holder_ref: str = "hr-stream") -> VerdictReached:
    return VerdictReached(
        request_id=uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region=region,
        qualification_id=QUALIFICATION,
        holder_ref=holder_ref,
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="证书真实", en="authentic"),
        checks=[CheckResult(body_id="acca", check="record", outcome=CheckOutcome.PASSED)],
        decided_at=datetime.now(UTC),
        holder_name="ZHANG Wei",
    )


async def publish(producer: AIOKafkaProducer, events: list[VerdictReached]) -> None:
    for event in events:
        value, headers = signed(event)
        await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)


async def take(stream: Any, count: int, seconds: float = 30) -> list[Any]:
    received: list[Any] = []
    async with asyncio.timeout(seconds):
        async for response in stream:
            received.append(response.outcome)
            if len(received) == count:
                break
    return received


async def test_a_resumed_stream_misses_nothing(stub: Any, producer: AIOKafkaProducer) -> None:
    region = "hebei"
    first_batch = [verdict(region) for _ in range(6)]
    await publish(producer, first_batch)
    first = stub.StreamOutcomes(registry_pb2.StreamOutcomesRequest(region=region_value(region)))
    seen = await take(first, 4)
    first.cancel()  # the region's system disconnects after four

    later = [verdict(region) for _ in range(5)]
    await publish(producer, later)
    resumed = stub.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(
            region=region_value(region), after_cursor=seen[-1].cursor
        )
    )
    rest = await take(resumed, 7)
    # Published while the stream is open: it tails new outcomes too.
    tail = [verdict(region)]
    await publish(producer, tail)
    rest += await take(resumed, 1)
    resumed.cancel()

    everything = seen + rest
    cursors = [outcome.cursor for outcome in everything]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    expected = [str(event.request_id) for event in first_batch + later + tail]
    assert sorted(outcome.request_id for outcome in everything) == sorted(expected)
    assert {outcome.region for outcome in everything} == {region_value(region)}
    assert everything[0].holder_ref == "hr-stream"
    assert everything[0].verdict == registry_pb2.VERDICT_AUTHENTIC


async def test_a_redelivered_event_is_recorded_once(stub: Any, producer: AIOKafkaProducer) -> None:
    region = "tianjin"
    event = verdict(region)
    await publish(producer, [event, event])
    marker = verdict(region)
    await publish(producer, [marker])
    stream = stub.StreamOutcomes(registry_pb2.StreamOutcomesRequest(region=region_value(region)))
    received = await take(stream, 2)
    stream.cancel()
    assert [o.request_id for o in received] == [str(event.request_id), str(marker.request_id)]


async def test_other_regions_outcomes_are_not_streamed(
    stub: Any, producer: AIOKafkaProducer
) -> None:
    await publish(producer, [verdict("beijing", "hr-beijing"), verdict("tianjin", "hr-t")])
    marker = verdict("beijing", "hr-beijing-marker")
    await publish(producer, [marker])
    stream = stub.StreamOutcomes(registry_pb2.StreamOutcomesRequest(region=region_value("beijing")))
    received: list[Any] = []
    async with asyncio.timeout(30):
        async for response in stream:
            outcome = response.outcome
            received.append(outcome)
            if outcome.request_id == str(marker.request_id):
                break
    stream.cancel()
    assert {o.region for o in received} == {registry_pb2.REGION_BEIJING}


@pytest.mark.parametrize(
    ("region", "cursor"),
    [(99, 0), (registry_pb2.REGION_UNSPECIFIED, 0), (registry_pb2.REGION_BEIJING, -1)],
)
async def test_bad_stream_requests_are_invalid_arguments(
    stub: Any, region: int, cursor: int
) -> None:
    stream = stub.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=region, after_cursor=cursor)  # type: ignore[arg-type]
    )
    error = await refusal(take(stream, 1, seconds=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_stream_ends_at_the_callers_deadline(stub: Any) -> None:
    stream = stub.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_BEIJING, after_cursor=10**12),
        timeout=0.5,
    )
    error = await refusal(take(stream, 1, seconds=10))
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
