"""Every rule of the consumption middleware (services/runtime/reliability.py), on the real
broker and database: one effect per event, forged and undecodable records parked, transient
failures retried without limit, poison isolated from its batch and parked with the reason,
offsets committed only once the effect is stored."""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faststream.kafka import KafkaBroker, KafkaRouter

from services.contracts.events import VerdictReached, encode
from services.contracts.topics import ALL_TOPICS, VERDICT_REACHED, dead_letter_of
from services.runtime.db import create_pool
from services.runtime.event_auth import EventKeys, EventSigner
from services.runtime.messaging import consuming, new_broker, start_broker, subscribed_topics
from services.runtime.reliability import InboxArg, PostgresInbox, ReliableConsumption
from tests.infra import Infra
from tests.kafka_probe import skip_history
from tests.runtime.dead_letters import Headers, parked
from tests.runtime.verdicts import verdict
from tests.signing import signed, signer_of

pytestmark = pytest.mark.integration

DEAD_LETTERS = dead_letter_of(VERDICT_REACHED).name


class PoisonError(RuntimeError):
    """What the handler raises for an event it can never store."""


@dataclass
class Handler:
    """Stores each event's id through the middleware's transaction; fails as told."""

    poison: set[uuid.UUID] = field(default_factory=set)
    transient_failures: int = 0
    error: Callable[[], Exception] = lambda: PoisonError("cannot store this one")
    hold: asyncio.Event | None = None  # blocks inside the transaction until set
    calls: int = 0

    async def __call__(self, events: list[VerdictReached], inbox: InboxArg) -> None:
        self.calls += 1
        if self.transient_failures:
            self.transient_failures -= 1
            raise ConnectionRefusedError("database away")
        if any(event.event_id in self.poison for event in events):
            raise self.error()
        await inbox.conn.executemany(
            "INSERT INTO stored (event_id) VALUES ($1)", [(e.event_id,) for e in events]
        )
        if self.hold is not None:
            await self.hold.wait()


@dataclass
class Running:
    group: str
    pool: asyncpg.Pool
    handler: Handler
    producer: AIOKafkaProducer
    bootstrap: str
    brokers: list[KafkaBroker] = field(default_factory=list)

    async def start(self) -> KafkaBroker:
        router = KafkaRouter()
        router.subscriber(
            *subscribed_topics(VERDICT_REACHED), **consuming(VERDICT_REACHED, group=self.group)
        )(self.handler.__call__)
        keys = EventKeys.load("registry")
        consumption = ReliableConsumption(
            group=self.group,
            trusted=keys.trusted,
            inbox=PostgresInbox(self.pool),
            topics=ALL_TOPICS,
            backoff=(0.05, 0.2),
        )
        broker = new_broker(
            self.bootstrap, "registry", keys.signer, consumption=consumption, routers=[router]
        )
        await start_broker(broker, self.bootstrap, ALL_TOPICS, [self.group])
        self.brokers.append(broker)
        return broker

    async def stored(self, event_id: uuid.UUID) -> int:
        query = "SELECT count(*) FROM stored WHERE event_id = $1"
        return int(await self.pool.fetchval(query, event_id))

    async def wait_stored(self, event_id: uuid.UUID, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while not await self.stored(event_id):
                await asyncio.sleep(0.05)

    async def publish(self, event: VerdictReached, headers: Headers | None = None) -> None:
        value = event.model_dump_json().encode()
        sent = headers if headers is not None else dict(signed(event)[1])
        await self.producer.send_and_wait(
            event.topic.name, value, key=event.key(), headers=list(sent.items())
        )


@pytest_asyncio.fixture
async def running(infra: Infra, fresh_database: str) -> AsyncIterator[Running]:
    bootstrap = infra.kafka_bootstrap_servers
    group = f"reliability-test-{uuid.uuid4()}"
    await skip_history(bootstrap, group, [VERDICT_REACHED.name])
    pool = await create_pool(fresh_database, "reliability")
    await pool.execute("CREATE TABLE stored (event_id uuid NOT NULL)")  # no key: counts repeats
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    state = Running(group, pool, Handler(), producer, bootstrap)
    try:
        yield state
    finally:
        for broker in state.brokers:
            with contextlib.suppress(Exception):
                await broker.stop()
        await producer.stop()
        await pool.close()


async def test_an_event_delivered_twice_takes_effect_once(running: Running) -> None:
    await running.start()
    event = verdict()
    await running.publish(event)
    await running.publish(event)  # a producer retry, or a relay that died before deleting
    following = verdict(event.request_id)  # same key: same partition, after both
    await running.publish(following)

    await running.wait_stored(following.event_id)
    assert await running.stored(event.event_id) == 1


def forged(event: VerdictReached, how: str) -> Headers:
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
async def test_a_forged_record_is_never_handled_and_is_parked(running: Running, how: str) -> None:
    await running.start()
    fake = verdict()
    genuine = verdict(fake.request_id)
    await running.publish(fake, forged(fake, how))
    await running.publish(genuine)

    await running.wait_stored(genuine.event_id)
    assert await running.stored(fake.event_id) == 0
    [headers] = await parked(
        running.bootstrap,
        DEAD_LETTERS,
        lambda h: h.get("event-id") == str(fake.event_id).encode(),
        count=1,
    )
    assert headers["dead-letter-reason"] == b"unauthenticated-producer"
    assert headers["dead-letter-group"] == running.group.encode()
    assert headers["dead-letter-error"] == b"UnauthenticatedEvent"
    assert headers["qv-signer"] == b"registry"  # parked and signed by the parking service


async def test_an_undecodable_record_is_parked(running: Running) -> None:
    await running.start()
    good = verdict()
    _, headers = encode(good)
    garbage = b'{"request_id": "not a uuid"}'
    signed_garbage = signer_of("verifier").signed_headers(
        VERDICT_REACHED.name, good.key(), garbage, headers
    )
    await running.producer.send_and_wait(
        VERDICT_REACHED.name, garbage, key=good.key(), headers=signed_garbage
    )
    following = verdict(good.request_id)
    await running.publish(following)

    await running.wait_stored(following.event_id)
    [parked_headers] = await parked(
        running.bootstrap,
        DEAD_LETTERS,
        lambda h: h.get("event-id") == str(good.event_id).encode(),
        count=1,
    )
    assert parked_headers["dead-letter-reason"].startswith(b"undecodable")
    assert parked_headers["dead-letter-error"] == b"ValidationError"


async def test_a_poison_event_is_isolated_from_its_batch_and_parked(running: Running) -> None:
    poison = verdict()
    running.handler.poison.add(poison.event_id)
    before, after = verdict(poison.request_id), verdict(poison.request_id)
    for event in (before, poison, after):  # one partition, likely one batch
        await running.publish(event)
    await running.start()

    await running.wait_stored(after.event_id)
    assert await running.stored(before.event_id) == 1
    assert await running.stored(poison.event_id) == 0
    [headers] = await parked(
        running.bootstrap,
        DEAD_LETTERS,
        lambda h: h.get("event-id") == str(poison.event_id).encode(),
        count=1,
    )
    assert headers["dead-letter-reason"] == b"handler kept failing"
    assert headers["dead-letter-error"] == b"PoisonError"
    assert headers["source-topic"] == VERDICT_REACHED.name.encode()
    assert headers["source-qv-signer"] == b"verifier"  # the original signature, kept
    partition, offset = headers["source-offset"].decode().split(":")
    assert int(partition) in range(VERDICT_REACHED.partitions) and int(offset) >= 0


async def test_transient_failures_are_retried_without_limit(running: Running) -> None:
    """More failures than the handler's attempts at poison: a transient error never parks."""
    running.handler.transient_failures = 8
    await running.start()
    event = verdict()
    await running.publish(event)

    await running.wait_stored(event.event_id)
    assert running.handler.calls >= 9
    assert await running.stored(event.event_id) == 1


async def test_offsets_are_committed_only_after_the_effect_is_stored(running: Running) -> None:
    """A consumer that dies inside the handler leaves the offset uncommitted and the claim
    rolled back: the next consumer of the group gets the event and stores it, once."""
    running.handler.hold = asyncio.Event()
    first = await running.start()
    event = verdict()
    await running.publish(event)
    async with asyncio.timeout(30):
        while running.handler.calls == 0:
            await asyncio.sleep(0.05)

    await first.stop()  # dies mid-transaction: nothing committed, nothing acknowledged
    running.brokers.remove(first)
    assert await running.stored(event.event_id) == 0
    running.handler.hold = None
    await running.start()

    await running.wait_stored(event.event_id)
    await asyncio.sleep(0.5)
    assert await running.stored(event.event_id) == 1


async def test_a_failing_handlers_error_text_stays_out_of_the_logs(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """An error's text may quote the record it choked on: logs name its class only, and carry
    no traceback (whose last line is that text)."""
    caplog.set_level(logging.DEBUG)
    running.handler.error = lambda: ValueError("Zhang San E12345678")
    poison = verdict()
    running.handler.poison.add(poison.event_id)
    following = verdict(poison.request_id)
    await running.start()
    await running.publish(poison)
    await running.publish(following)

    await running.wait_stored(following.event_id)
    failed = [r for r in caplog.records if r.getMessage() == "handler failed"]
    assert failed and all(r.__dict__["error"] == "ValueError" for r in failed)
    assert any(r.getMessage() == "record dead-lettered" for r in caplog.records)
    for record in caplog.records:
        formatted = caplog.handler.format(record)
        logged = f"{formatted} {record.__dict__!r} {record.exc_text or ''}"
        assert "Zhang San" not in logged and "E12345678" not in logged, record.getMessage()
