"""The verifier's subscriber under FastStream's TestKafkaBroker, behind the reliability
middleware with an in-memory inbox: requests signed by intake are claimed inside the
middleware's transaction and their work starts only once it has committed; the same event
delivered twice is claimed once; a claim that fails starts nothing; a request not signed by
intake never reaches the verifier."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.contracts.events import VerificationRequested, encode
from services.contracts.topics import ALL_TOPICS
from services.runtime.event_auth import EventKeys
from services.runtime.messaging import new_broker
from services.runtime.reliability import ReliableConsumption
from services.verifier.events.router import GROUP, VERIFIER, router
from tests.support.inbox import MemoryInbox
from tests.verifier.support import request_for

TRACE = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


@dataclass
class RecordingVerifier:
    """Stands in for `RequestVerifier.take_on`: records what was claimed and started."""

    fail: bool = False
    claimed: list[tuple[UUID, str | None, object]] = field(default_factory=list)
    started: list[UUID] = field(default_factory=list)

    async def take_on(
        self, conn: object, requests: list[tuple[VerificationRequested, str | None]]
    ) -> Callable[[], None]:
        self.claimed += [(r.request_id, trace, conn) for r, trace in requests]
        if self.fail:
            raise ValueError("the claim failed")

        def start() -> None:
            self.started.extend(r.request_id for r, _ in requests)

        return start


@dataclass
class Subscribed:
    broker: KafkaBroker
    verifier: RecordingVerifier
    inbox: MemoryInbox

    async def publish(self, request: VerificationRequested) -> None:
        value, headers = encode(request, TRACE)
        await self.broker.publish(
            value,
            request.topic.name,
            key=request.key(),
            headers={name: content.decode() for name, content in headers},
        )


def subscribed(verifier: RecordingVerifier, publisher: str = "intake") -> Subscribed:
    """The verifier's subscriber on a test broker whose publications are signed by
    `publisher` (intake, the topic's owner, unless a test forges one)."""
    keys = EventKeys.load("verifier")
    inbox = MemoryInbox(conn="the consumer's transaction")
    consumption = ReliableConsumption(
        group=GROUP,
        trusted=keys.trusted,
        inbox=inbox,
        topics=ALL_TOPICS,
        max_attempts=1,
        backoff=(0.0, 0.0),
    )
    broker = new_broker(
        "127.0.0.1:9", publisher, EventKeys.load(publisher).signer, consumption=consumption
    )
    broker.include_router(router)
    broker.context.set_global(VERIFIER, verifier)
    return Subscribed(broker, verifier, inbox)


@pytest.fixture
async def verifier() -> AsyncIterator[Subscribed]:
    running = subscribed(RecordingVerifier())
    async with TestKafkaBroker(running.broker):
        yield running


def a_request() -> VerificationRequested:
    return request_for(["some-body"], "N-1", "Wang Fang")


async def test_a_request_is_claimed_in_the_transaction_and_started_after_it(
    verifier: Subscribed,
) -> None:
    request = a_request()
    await verifier.publish(request)
    assert verifier.verifier.claimed == [(request.request_id, TRACE, "the consumer's transaction")]
    assert verifier.verifier.started == [request.request_id]
    assert request.event_id in verifier.inbox.consumed


async def test_the_same_event_delivered_twice_is_taken_on_once(verifier: Subscribed) -> None:
    request = a_request()
    await verifier.publish(request)
    await verifier.publish(request)
    assert [claim[0] for claim in verifier.verifier.claimed] == [request.request_id]
    assert verifier.verifier.started == [request.request_id]


async def test_a_failed_claim_starts_nothing_and_the_event_stays_unconsumed() -> None:
    running = subscribed(RecordingVerifier(fail=True))
    async with TestKafkaBroker(running.broker):
        request = a_request()
        await running.publish(request)
    # Tried as a batch, then alone (poison isolation), then parked: never started.
    assert {claim[0] for claim in running.verifier.claimed} == {request.request_id}
    assert running.verifier.started == []
    assert request.event_id not in running.inbox.consumed  # rolled back with the claim


async def test_a_request_not_signed_by_intake_never_reaches_the_verifier() -> None:
    running = subscribed(RecordingVerifier(), publisher="notifier")
    async with TestKafkaBroker(running.broker):
        request = a_request()
        await running.publish(request)
    assert running.verifier.claimed == []
    assert request.event_id not in running.inbox.consumed
