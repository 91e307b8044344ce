"""The shared consumer on the real broker: only the topic owner's signed events reach the
handler; everything else is parked on the dead-letter topic, saying which group parked it and
why."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.contracts.events import VerdictReached, encode
from services.contracts.topics import VERDICT_REACHED, dead_letter_of
from services.runtime.event_auth import EventKeys, EventSigner
from services.runtime.kafka import ConsumedEvent, EventConsumer, create_producer
from tests.infra import Infra
from tests.kafka_probe import skip_history
from tests.notifier.events import verdict
from tests.runtime.dead_letters import Headers, parked
from tests.signing import signed, signer_of

pytestmark = pytest.mark.integration

DEAD_LETTERS = dead_letter_of(VERDICT_REACHED).name


class PoisonError(RuntimeError):
    """What the handler raises for an event it can never store."""


@dataclass
class Handled:
    poison: set[uuid.UUID] = field(default_factory=set)
    event_ids: set[uuid.UUID] = field(default_factory=set)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    error: Callable[[], Exception] = lambda: PoisonError("cannot store this one")

    async def __call__(self, batch: list[ConsumedEvent]) -> None:
        for consumed in batch:
            if consumed.event.event_id in self.poison:
                raise self.error()
        self.event_ids.update(consumed.event.event_id for consumed in batch)
        self.arrived.set()

    async def wait_for(self, event_id: uuid.UUID, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while event_id not in self.event_ids:
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Running:
    group: str
    handled: Handled
    producer: AIOKafkaProducer


@pytest_asyncio.fixture
async def running(infra: Infra) -> AsyncIterator[Running]:
    """The registry's consumer of verdicts, as the service runs it, in its own group."""
    bootstrap = infra.kafka_bootstrap_servers
    group = f"registry-test-{uuid.uuid4()}"
    await skip_history(bootstrap, group, [VERDICT_REACHED.name])
    producer = create_producer(bootstrap, "consumer-test")
    await producer.start()
    handled = Handled()
    consumer = EventConsumer(
        bootstrap=bootstrap,
        group_id=group,
        topics=[VERDICT_REACHED],
        handler=handled,
        producer=producer,
        keys=EventKeys.load("registry"),
        max_attempts=2,
    )
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.started.wait(), 30)
    try:
        yield Running(group, handled, producer)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


async def publish(producer: AIOKafkaProducer, event: VerdictReached, headers: Headers) -> None:
    value = event.model_dump_json().encode()
    await producer.send_and_wait(
        event.topic.name, value, key=event.key(), headers=list(headers.items())
    )


def forged_headers(event: VerdictReached, how: str) -> Headers:
    value, headers = encode(event)
    topic, key = event.topic.name, event.key()
    if how == "unsigned":
        return dict(headers)
    if how == "random key":
        stranger = EventSigner("verifier", Ed25519PrivateKey.generate())
        return dict(stranger.signed_headers(topic, key, value, headers))
    if how == "another service's key":
        return dict(signer_of("intake").signed_headers(topic, key, value, headers))
    raise ValueError(how)


@pytest.mark.parametrize("how", ["unsigned", "random key", "another service's key"])
async def test_a_forged_verdict_is_never_handled_and_is_parked(
    infra: Infra, running: Running, how: str
) -> None:
    forged = verdict(uuid.uuid4())
    genuine = verdict(forged.employer_id, forged.request_id)  # same key: same partition, after
    await publish(running.producer, forged, forged_headers(forged, how))
    await publish(running.producer, genuine, dict(signed(genuine)[1]))

    await running.handled.wait_for(genuine.event_id)
    assert forged.event_id not in running.handled.event_ids
    [headers] = await parked(
        infra.kafka_bootstrap_servers,
        DEAD_LETTERS,
        lambda h: h.get("event-id") == str(forged.event_id).encode(),
        count=1,
    )
    assert headers["dead-letter-reason"] == b"unauthenticated-producer"
    assert headers["dead-letter-group"] == running.group.encode()
    assert headers["dead-letter-error"] == b"UnauthenticatedEvent"


async def test_a_poison_event_is_parked_with_its_group_error_and_source(
    infra: Infra, running: Running
) -> None:
    poison = verdict(uuid.uuid4())
    running.handled.poison.add(poison.event_id)
    following = verdict(poison.employer_id, poison.request_id)
    await publish(running.producer, poison, dict(signed(poison)[1]))
    await publish(running.producer, following, dict(signed(following)[1]))

    await running.handled.wait_for(following.event_id)
    [headers] = await parked(
        infra.kafka_bootstrap_servers,
        DEAD_LETTERS,
        lambda h: h.get("event-id") == str(poison.event_id).encode(),
        count=1,
    )
    assert headers["dead-letter-group"] == running.group.encode()
    assert headers["dead-letter-error"] == b"PoisonError"
    assert headers["dead-letter-reason"] == b"handler kept failing"
    assert headers["source-topic"] == VERDICT_REACHED.name.encode()
    partition, offset = headers["source-offset"].decode().split(":")
    assert int(partition) in range(VERDICT_REACHED.partitions) and int(offset) >= 0


async def test_a_failing_handlers_error_text_stays_out_of_the_logs(
    infra: Infra, running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """An error's text may quote the record it choked on: logs name its class only, and carry
    no traceback (whose last line is that text)."""
    caplog.set_level(logging.DEBUG)
    running.handled.error = lambda: ValueError("Zhang San E12345678")
    poison = verdict(uuid.uuid4())
    running.handled.poison.add(poison.event_id)
    following = verdict(poison.employer_id, poison.request_id)
    await publish(running.producer, poison, dict(signed(poison)[1]))
    await publish(running.producer, following, dict(signed(following)[1]))

    await running.handled.wait_for(following.event_id)
    failed = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert failed and all(r.__dict__["error"] == "ValueError" for r in failed)
    assert any(r.getMessage() == "record dead-lettered" for r in caplog.records)
    for record in caplog.records:
        formatted = caplog.handler.format(record)  # message, traceback and stack if any
        logged = f"{formatted} {record.__dict__!r} {record.exc_text or ''}"
        assert "Zhang San" not in logged and "E12345678" not in logged, record.getMessage()
        assert record.exc_info is None, record.getMessage()
