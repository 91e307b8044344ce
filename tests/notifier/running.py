"""The notifier as its composition root runs it (its subscriber under the consumption
middleware, the delivery sender, the outbox relay of its delivery log), on the real broker and
database, in a consumer group of the test's own."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaRouter

from services.contracts.events import DeliveryUpdated, Event
from services.contracts.topics import ALL_TOPICS
from services.notifier.delivery.account_email import AccountEmailTransport
from services.notifier.delivery.email import EmailTransport
from services.notifier.delivery.sender import DeliverySender
from services.notifier.delivery.webhooks import WebhookTransport
from services.notifier.events.router import CONSUMED, STORE, subscribe
from services.notifier.store.repository import ACCOUNT_EMAIL, EMAIL, WEBHOOK, NotifierStore
from services.runtime.egress import EgressPolicy, guarded_session
from services.runtime.event_auth import EventKeys
from services.runtime.messaging import declare_publishers, new_broker, start_broker
from services.runtime.notifications import Notifications
from services.runtime.outbox import OutboxRelay, outbox_signal
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from tests.kafka_probe import skip_history
from tests.notifier.events import BOX
from tests.signing import signed

SENDER = "notify@qualverify.test"
FAST = 1e-5  # the notifier's ~27-hour retry schedule in about a second
LOCAL_RECEIVERS = EgressPolicy.from_entries(["127.0.0.1"])  # the development allow-list


@dataclass(frozen=True)
class RunningNotifier:
    store: NotifierStore
    group: str


@contextlib.asynccontextmanager
async def running_notifier(
    bootstrap: str, pool: asyncpg.Pool, smtp_port: int = 9, time_scale: float = FAST
) -> AsyncIterator[RunningNotifier]:
    group = f"notifier-test-{uuid4()}"
    await skip_history(bootstrap, group, [topic.name for topic in CONSUMED])
    keys = EventKeys.load("notifier")
    router = KafkaRouter()
    subscribe(router, group)
    publishers = declare_publishers(router, [DeliveryUpdated])
    consumption = ReliableConsumption(
        group=group, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=ALL_TOPICS
    )
    broker = new_broker(
        bootstrap, "notifier", keys.signer, consumption=consumption, routers=[router]
    )
    store = NotifierStore(pool)
    broker.context.set_global(STORE, store)
    notifications = Notifications(pool)
    smtp = EmailTransport("127.0.0.1", smtp_port, SENDER, timeout_seconds=2)
    async with guarded_session(LOCAL_RECEIVERS) as http:
        sender = DeliverySender(
            store,
            notifications,
            {
                WEBHOOK: WebhookTransport(http, BOX, timeout_seconds=2),
                EMAIL: smtp,
                ACCOUNT_EMAIL: AccountEmailTransport(smtp, BOX),
            },
            time_scale=time_scale,
            lease_seconds=5,
        )
        relay = OutboxRelay(pool, publishers, wakeup=outbox_signal(notifications))
        await start_broker(broker, bootstrap, ALL_TOPICS, [group])
        try:
            async with asyncio.TaskGroup() as tasks:
                loops = [
                    tasks.create_task(loop()) for loop in (notifications.run, sender.run, relay.run)
                ]
                try:
                    yield RunningNotifier(store, group)
                finally:
                    for task in loops:
                        task.cancel()
        finally:
            await broker.stop()


async def publish(producer: AIOKafkaProducer, *events: Event) -> None:
    """As the topics' owners publish them, signed."""
    for event in events:
        value, headers = signed(event)
        await producer.send_and_wait(event.topic.name, value, key=event.key(), headers=headers)
