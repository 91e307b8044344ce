"""The broker's own metadata on a real broker: topics and configs, end offsets, a real
consumer group's state, committed offsets, lag and max lag time once it stops consuming; the
sampler's samples in PostgreSQL, the rates and catch-up time they give, and the gauges."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from prometheus_client import REGISTRY

from deploy.local.kafka import LocalKafka
from deploy.local.processes import free_port
from services.console.adapters import kafka_admin
from services.console.domain.offsets import KafkaSnapshot, PartitionOffsets
from services.console.domain.rates import CatchUpState, rate_series
from services.console.store.samples import SampleStore
from services.console.usecases.sampling import Freshness, Sampler
from services.console.usecases.topics import TopicsOverviewReader
from services.runtime.resilience import Backoff, Loops, LoopState, keep_running
from tests.infra import Infra

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def topic(infra: Infra) -> AsyncIterator[str]:
    name = f"console.test.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1, topic_configs={"retention.ms": "3600000"})])
        yield name
    finally:
        await admin.delete_topics([name])
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int, partition: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, f"record {i}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def consume_and_stop(bootstrap: str, topic: str, group: str, count: int) -> None:
    """A real group member that consumes and commits `count` records of partition 0, then
    leaves (the group is Empty afterwards)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        done = 0
        tp = TopicPartition(topic, 0)
        while done < count:
            batches = await consumer.getmany(tp, timeout_ms=500, max_records=count - done)
            done += len(batches.get(tp, []))
        await consumer.commit({tp: count})
    finally:
        await consumer.stop()


@pytest_asyncio.fixture
async def samples(console_pool: asyncpg.Pool) -> SampleStore:
    return SampleStore(console_pool)


async def test_a_group_that_stops_consuming_shows_its_lag_and_the_age_of_its_oldest_record(
    infra: Infra, topic: str
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    group = f"stopper-{uuid.uuid4().hex[:6]}"
    await produce(bootstrap, topic, 10)
    await consume_and_stop(bootstrap, topic, group, 4)
    await asyncio.sleep(1.5)  # the record at offset 4 ages

    async with kafka_admin.connect(bootstrap) as admin:
        snapshot = await admin.snapshot()

    info = snapshot.topic(topic)
    assert info is not None
    assert (info.partitions, info.retention_ms, info.cleanup_policy) == (2, 3600000, "delete")
    ends = {(o.topic, o.partition): o.end for o in snapshot.offsets}
    assert ends[(topic, 0)] == 10 and ends[(topic, 1)] == 0
    (state,) = [g.state for g in snapshot.groups if g.group_id == group]
    assert state == "Empty"
    positions = {p.partition: p for p in snapshot.positions if p.group_id == group}
    assert (positions[0].committed, positions[0].lag) == (4, 6)
    assert (positions[1].committed, positions[1].lag) == (None, 0)
    seconds = positions[0].lag_seconds(snapshot.taken_at)
    assert seconds is not None and 1.5 <= seconds < 30
    assert snapshot.group_lag()[(group, topic)] == 6


async def test_a_consuming_group_is_stable_with_its_member_and_assignment(
    infra: Infra, topic: str
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    group = f"live-{uuid.uuid4().hex[:6]}"
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        async with kafka_admin.connect(bootstrap) as admin:
            snapshot = await admin.snapshot()
    finally:
        await consumer.stop()
    (described,) = [g for g in snapshot.groups if g.group_id == group]
    assert described.state == "Stable"
    (member,) = described.members
    assert {p.partition for p in member.assigned} == {0, 1}
    # Nothing committed yet: assigned partitions count from the log start, caught up.
    assert {(p.partition, p.lag) for p in snapshot.positions if p.group_id == group} == {
        (0, 0),
        (1, 0),
    }


async def test_rates_and_catch_up_time_come_from_consecutive_samples(
    infra: Infra, topic: str, samples: SampleStore
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    group = f"slow-{uuid.uuid4().hex[:6]}"
    sampler = Sampler(
        lambda: kafka_admin.connect(bootstrap),
        samples,
        interval_seconds=1.0,
        retention=timedelta(hours=1),
    )
    reader = TopicsOverviewReader(
        sampler, samples, window=timedelta(seconds=30), stall_seconds=60.0
    )
    async with kafka_admin.connect(bootstrap) as admin:
        await produce(bootstrap, topic, 1000)
        await consume_and_stop(bootstrap, topic, group, 5)
        await sampler.sample_once(admin)
        await asyncio.sleep(2.0)
        await produce(bootstrap, topic, 10)
        await consume_and_stop(bootstrap, topic, group, 105)
        last = await sampler.sample_once(admin)

    overview = await reader.overview(now=last.taken_at)
    assert overview.freshness is Freshness.FRESH
    (row,) = [t for t in overview.topics if t.info.name == topic]
    assert row.in_rate is not None and row.in_rate > 0
    (on_topic,) = [g for g in row.groups if g.group_id == group]
    assert on_topic.out_rate is not None and on_topic.out_rate > row.in_rate
    assert on_topic.lag == 905 and on_topic.state == "Empty"
    assert on_topic.catch_up.state is CatchUpState.CATCHING_UP
    assert on_topic.catch_up.seconds == pytest.approx(905 / (on_topic.out_rate - row.in_rate))
    assert not on_topic.stalled
    edge = next(
        e
        for e in overview.pipeline.edges
        if (e.source, e.target) == (f"topic:{topic}", f"group:{group}")
    )
    assert edge.lag == 905

    history = await reader.rate_history(timedelta(minutes=5), now=last.taken_at)
    assert history.topics_in[topic][-1][1] == pytest.approx(row.in_rate)
    assert history.groups_out[group][-1][1] == pytest.approx(on_topic.out_rate)

    labels = {"group": group, "topic": topic}
    assert REGISTRY.get_sample_value("qv_consumer_group_lag", labels) == 905
    assert REGISTRY.get_sample_value("qv_consumer_group_lag_seconds", labels) is not None


async def test_a_stuck_group_is_a_stalled_hop(
    infra: Infra, topic: str, samples: SampleStore
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    group = f"stuck-{uuid.uuid4().hex[:6]}"
    await produce(bootstrap, topic, 3)
    await consume_and_stop(bootstrap, topic, group, 1)
    sampler = Sampler(
        lambda: kafka_admin.connect(bootstrap),
        samples,
        interval_seconds=1.0,
        retention=timedelta(hours=1),
    )
    reader = TopicsOverviewReader(sampler, samples, window=timedelta(seconds=1), stall_seconds=60.0)
    async with kafka_admin.connect(bootstrap) as admin:
        await sampler.sample_once(admin)
        await asyncio.sleep(1.2)
        await sampler.sample_once(admin)
    overview = await reader.overview()
    (row,) = [t for t in overview.topics if t.info.name == topic]
    (on_topic,) = [g for g in row.groups if g.group_id == group]
    assert on_topic.out_rate == 0 and on_topic.lag == 2
    assert on_topic.stalled
    assert on_topic.catch_up.state is CatchUpState.NOT_CATCHING_UP
    assert any(e.target == f"group:{group}" for e in overview.pipeline.stalled)


async def test_old_samples_are_forgotten(samples: SampleStore, console_pool: asyncpg.Pool) -> None:
    old = datetime.now(UTC) - timedelta(hours=30)
    await samples.record(KafkaSnapshot(old, (), (PartitionOffsets("t", 0, 0, 1),), (), ()))
    assert await samples.forget_before(old + timedelta(seconds=1)) == 1
    assert (
        await console_pool.fetchval("SELECT count(*) FROM topic_offset_samples WHERE topic = 't'")
        == 0
    )


async def test_while_the_broker_is_away_the_last_snapshot_is_kept_and_shown_stale(
    infra: Infra, samples: SampleStore
) -> None:
    sampler = Sampler(
        lambda: kafka_admin.connect("127.0.0.1:9", timeout_seconds=2.0),
        samples,
        interval_seconds=1.0,
        retention=timedelta(hours=1),
    )
    assert sampler.latest().freshness is Freshness.UNKNOWN
    async with kafka_admin.connect(infra.kafka_bootstrap_servers) as admin:
        taken = await sampler.sample_once(admin)
    with pytest.raises((KafkaError, OSError, TimeoutError)):
        await sampler.run()  # the broker at port 9 never answers
    assert sampler.latest(now=taken.taken_at + timedelta(seconds=10)).freshness is Freshness.FRESH
    later = sampler.latest(now=taken.taken_at + timedelta(seconds=20))
    assert later.freshness is Freshness.STALE and later.snapshot is taken
    assert later.age_seconds == pytest.approx(20)


async def test_a_long_span_is_charted_from_every_nth_sample_at_the_same_rate(
    samples: SampleStore,
) -> None:
    topic = f"thinned.{uuid.uuid4().hex[:6]}"
    start = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(12):
        await samples.record(
            KafkaSnapshot(
                start + timedelta(seconds=i), (), (PartitionOffsets(topic, 0, 0, 10 * i),), (), ()
            )
        )
    every_one = (await samples.topic_series(start))[topic]
    every_third = (await samples.topic_series(start, every=3))[topic]
    assert len(every_one) == 12 and len(every_third) == 4
    assert {p.total for p in every_third} <= {p.total for p in every_one}
    assert all(rate == pytest.approx(10.0) for _, rate in rate_series(every_third))


async def test_the_sampler_rides_out_a_broker_outage(tmp_path: Path, samples: SampleStore) -> None:
    """A broker of its own, stopped and started again: the loop waits it out (retrying), the
    last figures stay and turn stale, and sampling resumes once the broker is back."""
    kafka = LocalKafka(tmp_path / "kafka", free_port(), free_port())
    await asyncio.to_thread(kafka.start)
    loops = Loops()
    sampler = Sampler(
        lambda: kafka_admin.connect(kafka.bootstrap_servers, timeout_seconds=3.0),
        samples,
        interval_seconds=0.5,
        retention=timedelta(hours=1),
    )
    task = asyncio.create_task(
        keep_running("kafka sampler", sampler.run, loops, Backoff(max_seconds=1.0))
    )
    try:
        async with asyncio.timeout(60):
            while sampler.latest().snapshot is None:
                await asyncio.sleep(0.1)
        await asyncio.to_thread(kafka.stop)
        async with asyncio.timeout(60):
            while loops.states().get("kafka sampler") != LoopState.RETRYING.value:
                await asyncio.sleep(0.1)
        kept = sampler.latest().snapshot
        assert kept is not None
        assert sampler.latest(now=kept.taken_at + timedelta(seconds=20)).freshness is (
            Freshness.STALE
        )

        await asyncio.to_thread(kafka.start)
        async with asyncio.timeout(90):
            while (latest := sampler.latest().snapshot) is kept or latest is None:
                await asyncio.sleep(0.2)
        assert latest.taken_at > kept.taken_at
        assert sampler.latest().freshness is Freshness.FRESH
        assert loops.states()["kafka sampler"] == LoopState.RUNNING.value
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(kafka.stop)
