"""Composition root of the notifier: settings -> adapters -> broker and sender."""

from datetime import timedelta

from starlette.applications import Starlette

from services.contracts.topics import ALL_TOPICS
from services.notifier.delivery.account_email import AccountEmailTransport
from services.notifier.delivery.email import EmailTransport
from services.notifier.delivery.sender import DeliverySender
from services.notifier.delivery.webhooks import WebhookTransport
from services.notifier.events.router import GROUP, PUBLISHERS, STORE, router
from services.notifier.settings import NotifierSettings
from services.notifier.store.repository import (
    ACCOUNT_EMAIL,
    EMAIL,
    MIGRATIONS,
    WEBHOOK,
    NotifierStore,
)
from services.runtime.egress import EgressPolicy, guarded_session
from services.runtime.environment import load_settings
from services.runtime.event_auth import EventKeys
from services.runtime.health import database_check, kafka_check
from services.runtime.lifecycle import http_server, run_service, run_until_stopped
from services.runtime.messaging import new_broker, start_broker
from services.runtime.notifications import Notifications
from services.runtime.observability import configure_logging, database_away_handlers, ops_routes
from services.runtime.outbox import OutboxRelay, outbox_signal
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from services.runtime.resilience import Loops, until_available
from services.runtime.secret_box import SecretBox
from services.runtime.startup import open_database


async def main() -> None:
    settings = load_settings(NotifierSettings, "notifier")
    box = SecretBox.at_start("notifier")  # WEBHOOK_SECRETS_KEY, shared with intake only
    configure_logging("notifier", settings.log_level)
    keys = EventKeys.load("notifier")
    pool = await open_database(
        settings.database_url, settings.schema_name, MIGRATIONS, max_size=settings.pool_size
    )
    bootstrap = settings.kafka_bootstrap_servers
    consumption = ReliableConsumption(
        group=GROUP, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=ALL_TOPICS
    )
    broker = new_broker(
        bootstrap,
        "notifier",
        keys.signer,
        consumption=consumption,
        routers=[router],
        cluster=settings.kafka_cluster,
    )
    # Keep-alive for every connection in flight: without it each webhook opens a new one.
    async with guarded_session(
        EgressPolicy.from_env(),
        max_connections=settings.max_in_flight,
        timeout_seconds=settings.delivery_timeout_seconds,
    ) as http:
        try:
            store = NotifierStore(
                pool, secret_grace=timedelta(seconds=settings.secret_grace_seconds)
            )
            # Once, after migration 003: secrets stored in clear before are sealed in place.
            await until_available("webhook secrets", lambda: store.seal_clear_secrets(box))
            broker.context.set_global(STORE, store)
            notifications = Notifications(pool)
            smtp = EmailTransport(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_sender,
                settings.smtp_timeout_seconds,
            )
            sender = DeliverySender(
                store,
                notifications,
                {
                    WEBHOOK: WebhookTransport(http, box, settings.delivery_timeout_seconds),
                    EMAIL: smtp,
                    ACCOUNT_EMAIL: AccountEmailTransport(smtp, box),
                },
                time_scale=settings.retry_time_scale,
                lease_seconds=max(settings.lease_seconds, settings.delivery_timeout_seconds + 1),
                max_in_flight=settings.max_in_flight,
                max_in_flight_per_employer=settings.max_in_flight_per_employer,
            )
            relay = OutboxRelay(pool, PUBLISHERS, wakeup=outbox_signal(notifications))
            health = {"database": database_check(pool), "kafka": kafka_check(broker)}
            loops = Loops()
            ops = Starlette(
                routes=ops_routes(health, loops), exception_handlers=database_away_handlers()
            )
            await start_broker(
                broker, bootstrap, ALL_TOPICS, [GROUP], cluster=settings.kafka_cluster
            )
            await run_until_stopped(
                {
                    "notifications": notifications.run,
                    "outbox relay": relay.run,
                    "delivery sender": sender.run,
                },
                [http_server(ops, settings.host, settings.ops_port)],
                loops,
            )
        finally:
            await broker.stop()
            await pool.close()


if __name__ == "__main__":
    run_service(main)
