"""Dead letters on the real broker: a record the verifier's consumer parks (as the runtime
parks it) is listed with a masked preview, replayed with its producer's signature so the real
`EventConsumer` accepts it, and each action is recorded once and audited."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from services.console.adapters import kafka_admin
from services.console.adapters.dead_letters import DeadLetterTopics
from services.console.domain.dead_letters import ActionKind, NotReplayable
from services.console.domain.roles import Operator, Role
from services.console.store.audit import AuditLog
from services.console.store.dead_letters import AlreadyHandled, DeadLetterActions, RecordKey
from services.console.store.samples import SampleStore
from services.console.usecases.dead_letters import (
    DeadLetterNotFound,
    DeadLetters,
    OperatorRequired,
    ParkedEntry,
    ReasonRequired,
)
from services.console.usecases.sampling import Sampler
from services.contracts.events import VerificationRequested
from services.contracts.topics import VERIFICATION_REQUESTED, dead_letter_of
from services.runtime.event_auth import read_trust
from services.runtime.kafka import create_producer
from tests.console.dead_letter_support import (
    CERTIFICATE,
    Verifier,
    publish_poison,
    request_event,
    running_verifier,
)
from tests.infra import Infra
from tests.signing import signed

pytestmark = pytest.mark.integration

DLQ = dead_letter_of(VERIFICATION_REQUESTED).name
ALICE = Operator("alice", "Alice", Role.OPERATOR)
VICTOR = Operator("victor", "Victor", Role.VIEWER)


@dataclass
class World:
    verifier: Verifier
    producer: AIOKafkaProducer
    dead_letters: DeadLetters
    audit: AuditLog


@pytest_asyncio.fixture
async def world(infra: Infra, console_pool: asyncpg.Pool) -> AsyncIterator[World]:
    bootstrap = infra.kafka_bootstrap_servers
    producer = create_producer(bootstrap, "dead-letter-test")
    await producer.start()
    stack = contextlib.AsyncExitStack()
    verifier = await stack.enter_async_context(running_verifier(bootstrap))
    sampler = Sampler(
        lambda: kafka_admin.connect(bootstrap),
        SampleStore(console_pool),
        interval_seconds=5.0,
        retention=timedelta(hours=1),
    )
    async with kafka_admin.connect(bootstrap) as admin:
        await sampler.sample_once(admin)
    audit = AuditLog(console_pool)
    dead_letters = DeadLetters(
        DeadLetterTopics(bootstrap, producer),
        DeadLetterActions(console_pool),
        audit,
        sampler,
        trusted=read_trust(Path(os.environ["EVENT_TRUST_DIR"])),
    )
    try:
        yield World(verifier, producer, dead_letters, audit)
    finally:
        await stack.aclose()
        await producer.stop()


async def park(world: World) -> VerificationRequested:
    return await publish_poison(world.verifier, world.producer)


async def parked_entry(world: World, event: VerificationRequested) -> ParkedEntry:
    async with asyncio.timeout(30):
        while True:
            view = await world.dead_letters.topic(DLQ, limit=200)
            for entry in view.entries:
                if entry.record.header("event-id") == str(event.event_id):
                    return entry
            await asyncio.sleep(0.2)


def key_of(entry: ParkedEntry) -> RecordKey:
    return RecordKey(entry.record.topic, entry.record.partition, entry.record.offset)


async def test_a_parked_request_is_shown_masked_and_replayed_to_the_verifier_once(
    world: World,
) -> None:
    event = await park(world)
    entry = await parked_entry(world, event)
    record = entry.record
    assert entry.action is None
    assert record.reason_kind == "handler kept failing"
    assert record.parked_by == world.verifier.group
    assert record.source_topic == VERIFICATION_REQUESTED.name
    preview = record.preview()
    assert CERTIFICATE not in preview and "Kenji" not in preview
    assert str(event.request_id) in preview
    assert event.event_id not in world.verifier.handled

    world.verifier.poison.discard(event.event_id)  # the bug is fixed: replay it
    key = key_of(entry)
    await world.dead_letters.replay(ALICE, key)
    await world.verifier.wait_for(event.event_id)  # authenticated as intake's, and handled

    with pytest.raises(AlreadyHandled) as again:
        await world.dead_letters.replay(ALICE, key)
    assert again.value.action.kind is ActionKind.REPLAYED
    with pytest.raises(AlreadyHandled):
        await world.dead_letters.discard(ALICE, key, "changed my mind")
    shown = await parked_entry(world, event)
    assert shown.action is not None
    assert (shown.action.kind, shown.action.actor) == (ActionKind.REPLAYED, "alice")
    (audited,) = await world.audit.recent(target=str(key))
    assert (audited.actor, audited.action) == ("alice", "dead_letter.replay")
    assert audited.detail["source"].startswith(f"{VERIFICATION_REQUESTED.name}/")


async def test_discard_needs_a_reason_and_an_operator_and_happens_once(world: World) -> None:
    event = await park(world)
    key = key_of(await parked_entry(world, event))
    with pytest.raises(OperatorRequired):
        await world.dead_letters.discard(VICTOR, key, "not mine to judge")
    with pytest.raises(OperatorRequired):
        await world.dead_letters.replay(VICTOR, key)
    with pytest.raises(ReasonRequired):
        await world.dead_letters.discard(ALICE, key, "   ")
    await world.dead_letters.discard(ALICE, key, "test data, never to be verified")
    with pytest.raises(AlreadyHandled) as again:
        await world.dead_letters.discard(ALICE, key, "twice")
    assert again.value.action.reason == "test data, never to be verified"
    with pytest.raises(AlreadyHandled):
        await world.dead_letters.replay(ALICE, key)
    assert event.event_id not in world.verifier.handled
    (audited,) = await world.audit.recent(target=str(key))
    assert audited.action == "dead_letter.discard"
    assert audited.detail == {"reason": "test data, never to be verified"}


async def test_concurrent_replays_of_one_record_send_it_once(world: World) -> None:
    event = await park(world)
    key = key_of(await parked_entry(world, event))
    world.verifier.poison.discard(event.event_id)
    outcomes = await asyncio.gather(
        *(world.dead_letters.replay(ALICE, key) for _ in range(3)), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, AlreadyHandled) for o in outcomes if isinstance(o, BaseException))
    await world.verifier.wait_for(event.event_id)
    assert len(await world.audit.recent(target=str(key))) == 1


async def test_a_record_whose_original_signature_does_not_verify_is_not_replayed(
    world: World,
) -> None:
    event = request_event()
    value, headers = signed(event, service="notifier")  # not intake's topic
    forged = [(f"source-{n}" if n.startswith("qv-") else n, c) for n, c in headers]
    forged += [
        ("dead-letter-reason", b"unauthenticated-producer"),
        ("dead-letter-group", b"verifier"),
        ("source-topic", VERIFICATION_REQUESTED.name.encode()),
        ("source-offset", b"0:1"),
    ]
    sent = await world.producer.send_and_wait(DLQ, value, key=event.key(), headers=forged)
    key = RecordKey(DLQ, sent.partition, sent.offset)
    with pytest.raises(NotReplayable):
        await world.dead_letters.replay(ALICE, key)
    # Nothing was recorded: it can still be discarded.
    await world.dead_letters.discard(ALICE, key, "forged")


async def test_unknown_records_and_topics_that_are_not_dead_letter_topics_are_refused(
    world: World,
) -> None:
    with pytest.raises(DeadLetterNotFound):
        await world.dead_letters.replay(ALICE, RecordKey(DLQ, 0, 10**9))
    with pytest.raises(DeadLetterNotFound):
        await world.dead_letters.replay(ALICE, RecordKey(VERIFICATION_REQUESTED.name, 0, 0))
    with pytest.raises(DeadLetterNotFound):
        await world.dead_letters.topic("no.such.topic.dlq")


async def test_older_parked_records_are_read_page_by_page(world: World) -> None:
    events = []
    for _ in range(3):  # parked one after the other, so in this order
        events.append(await park(world))
        await parked_entry(world, events[-1])
    newest = await world.dead_letters.topic(DLQ, limit=2)
    assert [e.record.header("event-id") for e in newest.entries] == [
        str(events[2].event_id),
        str(events[1].event_id),
    ]
    assert newest.older_before == newest.entries[-1].record.offset
    older = await world.dead_letters.topic(DLQ, limit=2, before=newest.older_before)
    assert older.entries[0].record.header("event-id") == str(events[0].event_id)
    assert all(e.record.offset < newest.older_before for e in older.entries)
