"""The platform's Kafka edge on FastStream: one broker per service, whose publishers sign every
record (`SignedPublishing`) and whose subscribers follow the reliability rules
(`services.runtime.reliability.ReliableConsumption`).

A service declares its subscribers and publishers on a module-level `KafkaRouter` (so the
AsyncAPI document can be generated from it without running anything) and includes it in the
broker its composition root makes with `new_broker`.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Final

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.middlewares import AckPolicy

from services.contracts.events import Event
from services.contracts.topics import TopicSpec
from services.runtime.event_auth import EventSigner
from services.runtime.kafka import ensure_topics, wait_for_group_coordinator
from services.runtime.kafka_cluster import DEVELOPMENT, KafkaCluster
from services.runtime.resilience import until_available

log = logging.getLogger(__name__)

Publishers = Mapping[str, Any]

# Producer batching: a few milliseconds of linger lets the relay's sends of one outbox batch
# share requests; lz4 costs little CPU and shrinks the JSON several times.
LINGER_MS = 5
COMPRESSION: Final = "lz4"
GRACEFUL_SECONDS = 3.0


class SignedPublishing:
    """Signs each outgoing record as this service (services/runtime/event_auth.py), after
    FastStream has set its own transport headers, which the signature leaves out."""

    def __init__(self, signer: EventSigner) -> None:
        self.signer = signer

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _Signing(msg, context=context, signer=self.signer)


class _Signing(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, signer: EventSigner) -> None:
        super().__init__(msg, context=context)
        self.signer = signer

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: Any) -> Any:
        headers = [(name, value.encode()) for name, value in cmd.headers.items()]
        signed = self.signer.signed_headers(cmd.destination, cmd.key, cmd.body, headers)
        cmd.headers = {name: value.decode() for name, value in signed}
        return await call_next(cmd)


async def decoded_events(msg: Any) -> Any:
    """The body the reliability middleware decoded and authenticated: a list of events."""
    return msg.body


def bootstrap_servers(bootstrap: str) -> list[str]:
    """ "a:1,b:2" as a list: FastStream takes a string as ONE server (aiokafka's own clients
    split it), so a cluster's comma-separated KAFKA_BOOTSTRAP_SERVERS must be split here."""
    return [server.strip() for server in bootstrap.split(",") if server.strip()]


def new_broker(
    bootstrap: str,
    service: str,
    signer: EventSigner,
    *,
    consumption: Any | None = None,
    routers: Iterable[KafkaRouter] = (),
    cluster: KafkaCluster = DEVELOPMENT,
) -> KafkaBroker:
    """The service's broker: idempotent, fully acknowledged, batching producer; every
    publication signed; `consumption` (a `ReliableConsumption`) around every subscriber."""
    middlewares: list[Any] = [SignedPublishing(signer)]
    if consumption is not None:
        middlewares.append(consumption)
    broker = KafkaBroker(
        bootstrap_servers(bootstrap),
        client_id=service,
        # Topics are created explicitly (`ensure_topics`), or by the cluster's administrator:
        # a subscriber asking for them would only log ACL refusals on a secured cluster.
        allow_auto_create_topics=False,
        security=cluster.security(),
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        compression_type=COMPRESSION,
        middlewares=middlewares,
        decoder=decoded_events,
        logger=log,
        log_level=logging.DEBUG,  # "Received"/"Processed" per batch: not for the INFO log
        # On stop, a batch in flight gets this long to commit; one still retrying (poison, or
        # the database away) is then cancelled: rolled back, redelivered, taken once.
        graceful_timeout=GRACEFUL_SECONDS,
    )
    for router in routers:
        broker.include_router(router)
    return broker


def consuming(*topics: TopicSpec, group: str, max_records: int = 500) -> dict[str, Any]:
    """The options of a platform subscriber: batches, offsets committed only by the
    reliability middleware once the batch's effects are stored, from the earliest offset."""
    return {
        "group_id": group,
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": 100,
        "ack_policy": AckPolicy.MANUAL,
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": 10 * 60 * 1000,
        # The AsyncAPI document names the subscriber's channels "<group>:<topic>" (FastStream
        # appends the topic to the title of a subscriber of several).
        "title": group if len(topics) > 1 else f"{group}:{topics[0].name}",
    }


def subscribed_topics(*topics: TopicSpec) -> tuple[str, ...]:
    return tuple(topic.name for topic in topics)


def declare_publishers(router: KafkaRouter, events: Sequence[type[Event]]) -> dict[str, Any]:
    """One documented publisher per topic the service owns, by topic name (what the outbox
    relay publishes through)."""
    return {
        cls.topic.name: router.publisher(
            cls.topic.name, schema=cls, title=f"{cls.topic.name}:{cls.__name__}"
        )
        for cls in events
    }


async def start_broker(
    broker: KafkaBroker,
    bootstrap: str,
    topics: Sequence[TopicSpec],
    groups: Sequence[str] = (),
    *,
    cluster: KafkaCluster = DEVELOPMENT,
) -> None:
    """Starts the broker's producer and subscribers once `topics` exist and the groups'
    coordinator is known (so a fresh cluster's start stays out of the error log), waiting as
    long as Kafka takes to be there. Kafka going away later is ridden out by the client."""
    await until_available("kafka topics", lambda: ensure_topics(bootstrap, topics, cluster))
    for group in groups:
        await until_available(
            "kafka group", partial(wait_for_group_coordinator, bootstrap, group, cluster)
        )
    await until_available("kafka broker", broker.start)


async def run_broker(
    broker: KafkaBroker,
    bootstrap: str,
    topics: Sequence[TopicSpec],
    groups: Sequence[str] = (),
    *,
    cluster: KafkaCluster = DEVELOPMENT,
) -> None:
    """`start_broker`, as a loop of `run_until_stopped` for a service that serves meanwhile;
    the broker stops when the loop is cancelled."""
    await start_broker(broker, bootstrap, topics, groups, cluster=cluster)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await broker.stop()
