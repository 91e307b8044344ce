"""Composition root of the verifier: settings -> adapters -> consumer; nothing else."""

import asyncio

import httpx

from services.contracts.topics import ALL_TOPICS, VERIFICATION_REQUESTED
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.health import database_check, kafka_check
from services.runtime.kafka import EventConsumer, create_producer, ensure_topics
from services.runtime.lifecycle import run_until_stopped
from services.runtime.observability import configure_logging, ops_server
from services.runtime.outbox import OutboxRelay
from services.verifier.channels.config import ChannelType, load_channel_book
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.events.requests import RequestVerifier, request_handler
from services.verifier.registry_client import RegistryClient
from services.verifier.settings import VerifierSettings
from services.verifier.store.repository import MIGRATIONS, VerifierStore


async def main() -> None:
    settings = VerifierSettings()
    configure_logging("verifier", settings.log_level)
    book = load_channel_book(settings.channels_file)
    pool = await create_pool(
        settings.database_url, settings.schema_name, max_size=settings.pool_size
    )
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    await ensure_topics(settings.kafka_bootstrap_servers, ALL_TOPICS)
    producer = create_producer(settings.kafka_bootstrap_servers, "verifier")
    await producer.start()
    registry = RegistryClient(settings.registry_target)
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False) as http:
        try:
            channels: dict[ChannelType, Channel] = {
                ChannelType.CREDENTIAL_API: CredentialApiChannel(http),
            }
            contacts = BodyContacts(book, settings.bodies_base_url, channels)
            store = VerifierStore(pool)
            verifier = RequestVerifier(contacts, registry, store)
            consumer = EventConsumer(
                bootstrap=settings.kafka_bootstrap_servers,
                group_id="verifier",
                topics=[VERIFICATION_REQUESTED],
                handler=request_handler(verifier, store),
                producer=producer,
                max_batch=settings.max_batch,
            )
            health = {"database": database_check(pool), "kafka": kafka_check(producer)}
            await run_until_stopped(
                [OutboxRelay(pool, producer).run(), consumer.run()],
                [ops_server(settings.host, settings.ops_port, health)],
            )
        finally:
            await registry.close()
            await producer.stop()
            await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
