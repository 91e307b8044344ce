"""A consumer started on a fresh broker (no group coordinator yet) logs no ERROR: waiting for
the coordinator is part of a normal start, not a failure."""

import asyncio
import contextlib
import logging
import uuid
from pathlib import Path

import pytest

from deploy.local.kafka import LocalKafka
from deploy.local.processes import free_port
from services.contracts.topics import ALL_TOPICS, VERDICT_REACHED
from services.runtime.event_auth import EventKeys
from services.runtime.kafka import ConsumedEvent, EventConsumer, create_producer, ensure_topics

pytestmark = pytest.mark.integration


async def ignore(_batch: list[ConsumedEvent]) -> None:
    return None


async def start_consumer_on(bootstrap: str) -> None:
    await ensure_topics(bootstrap, ALL_TOPICS)
    producer = create_producer(bootstrap, "start-test")
    await producer.start()
    consumer = EventConsumer(
        bootstrap=bootstrap,
        group_id=f"start-test-{uuid.uuid4()}",
        topics=[VERDICT_REACHED],
        handler=ignore,
        producer=producer,
        keys=EventKeys.load("registry"),
    )
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(consumer.started.wait(), 60)
        await asyncio.sleep(1)  # the first poll joins the group
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await producer.stop()


def test_a_consumer_on_a_fresh_broker_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    with broker, caplog.at_level(logging.INFO):
        asyncio.run(start_consumer_on(broker.bootstrap_servers))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]
