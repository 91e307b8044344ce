"""Composition root of the notifier: settings -> adapters -> consumer and sender."""

import asyncio

import httpx

from services.contracts.topics import ALL_TOPICS, EMPLOYER_WEBHOOKS, VERDICT_REACHED
from services.notifier.delivery.webhooks import WebhookSender
from services.notifier.events.handlers import notifier_handler
from services.notifier.settings import NotifierSettings
from services.notifier.store.repository import MIGRATIONS, NotifierStore
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.health import database_check, kafka_check
from services.runtime.kafka import EventConsumer, create_producer, ensure_topics
from services.runtime.lifecycle import run_until_stopped
from services.runtime.observability import configure_logging, ops_server
from services.runtime.outbox import OutboxRelay


async def main() -> None:
    settings = NotifierSettings()
    configure_logging("notifier", settings.log_level)
    pool = await create_pool(
        settings.database_url, settings.schema_name, max_size=settings.pool_size
    )
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    await ensure_topics(settings.kafka_bootstrap_servers, ALL_TOPICS)
    producer = create_producer(settings.kafka_bootstrap_servers, "notifier")
    await producer.start()
    async with httpx.AsyncClient(follow_redirects=False) as http:
        try:
            store = NotifierStore(pool)
            consumer = EventConsumer(
                bootstrap=settings.kafka_bootstrap_servers,
                group_id="notifier",
                topics=[EMPLOYER_WEBHOOKS, VERDICT_REACHED],
                handler=notifier_handler(store),
                producer=producer,
            )
            sender = WebhookSender(store, http, time_scale=settings.retry_time_scale)
            health = {"database": database_check(pool), "kafka": kafka_check(producer)}
            await run_until_stopped(
                [OutboxRelay(pool, producer).run(), consumer.run(), sender.run()],
                [ops_server(settings.host, settings.ops_port, health)],
            )
        finally:
            await producer.stop()
            await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
