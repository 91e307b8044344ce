"""The verifier's consumer of requests with a handler that fails on chosen events, so the
real runtime parks them on the dead-letter topic; and requests to park."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from aiokafka import AIOKafkaProducer

from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.contracts.topics import ALL_TOPICS, VERIFICATION_REQUESTED, dead_letter_of
from services.runtime.event_auth import SIGNATURE_HEADERS, EventKeys
from services.runtime.kafka import ConsumedEvent, EventConsumer, ensure_topics
from tests.kafka_probe import skip_history
from tests.signing import signed

CERTIFICATE = "AWS-68234618"


@dataclass
class Verifier:
    """The verifier's consumer of requests, as the service runs it, in a group of its own; its
    handler cannot store the events in `poison` (until the test says it can)."""

    group: str
    poison: set[uuid.UUID] = field(default_factory=set)
    handled: set[uuid.UUID] = field(default_factory=set)

    async def __call__(self, batch: list[ConsumedEvent]) -> None:
        if any(c.event.event_id in self.poison for c in batch):
            raise RuntimeError("cannot store this one")
        self.handled.update(c.event.event_id for c in batch)

    async def wait_for(self, event_id: uuid.UUID, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while event_id not in self.handled:
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_verifier(bootstrap: str, producer: AIOKafkaProducer) -> AsyncIterator[Verifier]:
    await ensure_topics(bootstrap, ALL_TOPICS)
    verifier = Verifier(f"verifier-test-{uuid.uuid4()}")
    await skip_history(bootstrap, verifier.group, [VERIFICATION_REQUESTED.name])
    consumer = EventConsumer(
        bootstrap=bootstrap,
        group_id=verifier.group,
        topics=[VERIFICATION_REQUESTED],
        handler=verifier,
        producer=producer,
        keys=EventKeys.load("verifier"),
        max_attempts=1,
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    try:
        yield verifier
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def request_event() -> VerificationRequested:
    return VerificationRequested(
        request_id=uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="beijing",
        qualification_id="aws-e94e5145",
        body_ids=["aws"],
        holder=HolderClaim(name="Kenji Nguyen", nationality="CHN", holder_ref="ref-1"),
        certificate=CertificateClaim(number=CERTIFICATE, issued_on=date(2023, 9, 27)),
    )


async def publish_poison(verifier: Verifier, producer: AIOKafkaProducer) -> VerificationRequested:
    """A correctly signed request that the verifier's handler keeps failing on."""
    event = request_event()
    verifier.poison.add(event.event_id)
    value, headers = signed(event)
    await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)
    return event


def parked_as_the_runtime_parks(
    event: VerificationRequested, group: str, source_offset: str, reason: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Value and headers of `event`, signed by its producer, as `EventConsumer._dead_letter`
    writes it on the dead-letter topic: the original signature under `source-` names, the
    parking headers, and the parking service's (the verifier's) signature."""
    value, headers = signed(event)
    parking = [
        *((f"source-{name}" if name in SIGNATURE_HEADERS else name, c) for name, c in headers),
        ("dead-letter-reason", reason.encode()),
        ("dead-letter-group", group.encode()),
        ("dead-letter-error", b"RuntimeError"),
        ("source-topic", event.topic.name.encode()),
        ("source-offset", source_offset.encode()),
    ]
    topic = dead_letter_of(event.topic).name
    return value, EventKeys.load("verifier").signer.signed_headers(
        topic, event.key(), value, parking
    )
