"""A subscriber started on a fresh broker (no group coordinator yet) logs no ERROR: waiting for
the coordinator is part of a normal start, not a failure."""

import asyncio
import contextlib
import logging
import uuid
from pathlib import Path

import pytest
from faststream.kafka import KafkaRouter

from deploy.local.kafka import LocalKafka
from deploy.local.processes import free_port
from services.contracts.events import VerdictReached
from services.contracts.topics import ALL_TOPICS, VERDICT_REACHED
from services.runtime.event_auth import EventKeys
from services.runtime.messaging import consuming, new_broker, start_broker, subscribed_topics
from services.runtime.reliability import ReliableConsumption
from tests.support.inbox import MemoryInbox

pytestmark = pytest.mark.integration


async def ignore(_events: list[VerdictReached]) -> None:
    return None


async def start_subscriber_on(bootstrap: str) -> None:
    group = f"start-test-{uuid.uuid4()}"
    router = KafkaRouter()

    options = consuming(VERDICT_REACHED, group=group)
    router.subscriber(*subscribed_topics(VERDICT_REACHED), **options)(ignore)

    keys = EventKeys.load("registry")
    consumption = ReliableConsumption(
        group=group, trusted=keys.trusted, inbox=MemoryInbox(), topics=ALL_TOPICS
    )
    broker = new_broker(
        bootstrap, "registry", keys.signer, consumption=consumption, routers=[router]
    )
    try:
        await asyncio.wait_for(start_broker(broker, bootstrap, ALL_TOPICS, [group]), 60)
        await asyncio.sleep(2)  # the first poll joins the group
    finally:
        with contextlib.suppress(Exception):
            await broker.stop()


def test_a_subscriber_on_a_fresh_broker_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    with broker, caplog.at_level(logging.INFO):
        asyncio.run(start_subscriber_on(broker.bootstrap_servers))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]
