"""A subscriber of requests under the platform's consumption middleware, as the verifier's,
whose handler fails on chosen events, so the real middleware parks them on the dead-letter
topic; and requests to park."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaRouter

from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.contracts.topics import ALL_TOPICS, VERIFICATION_REQUESTED, dead_letter_of
from services.runtime.event_auth import SIGNATURE_HEADERS, EventKeys
from services.runtime.messaging import consuming, new_broker, start_broker, subscribed_topics
from services.runtime.reliability import ReliableConsumption
from tests.kafka_probe import skip_history
from tests.signing import signed
from tests.support.inbox import MemoryInbox

CERTIFICATE = "AWS-68234618"


@dataclass
class Verifier:
    """A subscriber of requests signed as the verifier, in a group of its own; its handler
    cannot store the events in `poison` (until the test says it can)."""

    group: str
    poison: set[uuid.UUID] = field(default_factory=set)
    handled: set[uuid.UUID] = field(default_factory=set)

    async def __call__(self, events: list[VerificationRequested]) -> None:
        if any(event.event_id in self.poison for event in events):
            raise RuntimeError("cannot store this one")
        self.handled.update(event.event_id for event in events)

    async def wait_for(self, event_id: uuid.UUID, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while event_id not in self.handled:
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running_verifier(bootstrap: str) -> AsyncIterator[Verifier]:
    verifier = Verifier(f"verifier-test-{uuid.uuid4()}")
    await skip_history(bootstrap, verifier.group, [VERIFICATION_REQUESTED.name])
    router = KafkaRouter()
    router.subscriber(
        *subscribed_topics(VERIFICATION_REQUESTED),
        **consuming(VERIFICATION_REQUESTED, group=verifier.group),
    )(verifier.__call__)
    keys = EventKeys.load("verifier")
    consumption = ReliableConsumption(
        group=verifier.group,
        trusted=keys.trusted,
        inbox=MemoryInbox(),  # the handler stores nothing in a database
        topics=ALL_TOPICS,
        max_attempts=1,
        backoff=(0.05, 0.2),
    )
    broker = new_broker(
        bootstrap, "verifier", keys.signer, consumption=consumption, routers=[router]
    )
    await start_broker(broker, bootstrap, ALL_TOPICS, [verifier.group])
    try:
        yield verifier
    finally:
        await broker.stop()


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
    """Value and headers of `event`, signed by its producer, as the consumption middleware
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
