"""Composition root of intake: settings -> adapters -> app; nothing else."""

import asyncio
from datetime import timedelta

from services.contracts.topics import ALL_TOPICS, VERDICT_REACHED
from services.intake.api.routes import IntakeContext, create_app
from services.intake.catalogue import EditionCatalogue
from services.intake.events.verdicts import verdict_handler
from services.intake.settings import IntakeSettings
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.health import database_check, kafka_check
from services.runtime.kafka import EventConsumer, create_producer, ensure_topics
from services.runtime.lifecycle import http_server, run_until_stopped
from services.runtime.observability import configure_logging
from services.runtime.outbox import OutboxRelay


async def main() -> None:
    settings = IntakeSettings()
    configure_logging("intake", settings.log_level)
    catalogue = EditionCatalogue.load()
    pool = await create_pool(
        settings.database_url, settings.schema_name, max_size=settings.pool_size
    )
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    await ensure_topics(settings.kafka_bootstrap_servers, ALL_TOPICS)
    producer = create_producer(settings.kafka_bootstrap_servers, "intake")
    await producer.start()
    try:
        store = IntakeStore(pool)
        context = IntakeContext(
            store=store,
            catalogue=catalogue,
            holder_ref_key=settings.holder_ref_key.get_secret_value().encode(),
            turnaround=timedelta(seconds=settings.default_turnaround_seconds),
        )
        health = {"database": database_check(pool), "kafka": kafka_check(producer)}
        consumer = EventConsumer(
            bootstrap=settings.kafka_bootstrap_servers,
            group_id="intake",
            topics=[VERDICT_REACHED],
            handler=verdict_handler(store),
            producer=producer,
        )
        await run_until_stopped(
            [OutboxRelay(pool, producer).run(), consumer.run()],
            [http_server(create_app(context, health), settings.host, settings.port)],
        )
    finally:
        await producer.stop()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
