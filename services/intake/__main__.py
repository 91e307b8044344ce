"""Composition root of intake: settings -> adapters -> app; nothing else."""

import base64
import os

from services.contracts.topics import ALL_TOPICS
from services.intake.adapters.pdf_report import PdfReports
from services.intake.api.auth import follow_api_key_revocations
from services.intake.api.routes import IntakeContext, create_app
from services.intake.applying import Applying
from services.intake.catalogue import EditionCatalogue, refresh_withdrawals
from services.intake.channels import ChannelDirectory
from services.intake.domain.turnaround import TurnaroundPolicy
from services.intake.events.router import GROUP, PUBLISHERS, router
from services.intake.settings import IntakeSettings
from services.intake.store.accounts import AccountStore
from services.intake.store.employer_review import EmployerReviewStore
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.intake.usecases.approving import Approving
from services.intake.web.app import employer_web_app
from services.intake.web.deps import WebDeps
from services.intake.web.sections import sections
from services.runtime.environment import load_settings
from services.runtime.event_auth import EventKeys
from services.runtime.health import database_check, kafka_check
from services.runtime.lifecycle import (
    http_server,
    run_service,
    run_until_stopped,
    start_sibling_workers,
    stop_workers,
)
from services.runtime.messaging import new_broker, start_broker
from services.runtime.notifications import Notifications
from services.runtime.observability import configure_logging, own_health_server
from services.runtime.outbox import OutboxRelay, outbox_signal
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from services.runtime.resilience import Loops, until_available
from services.runtime.secret_box import SecretBox
from services.runtime.startup import open_database


async def main() -> None:
    settings = load_settings(IntakeSettings, "intake")
    secrets_box = SecretBox.at_start("intake")  # WEBHOOK_SECRETS_KEY, shared with the notifier only
    configure_logging("intake", settings.log_level)
    keys = EventKeys.load("intake")
    catalogue = EditionCatalogue.load()
    channels = ChannelDirectory.load(
        settings.channels_file, required_bodies=[b.id for b in catalogue.edition.bodies]
    )
    policy = TurnaroundPolicy(settings.turnaround_min_samples, settings.turnaround_smoothing)
    pool = await open_database(
        settings.database_url, settings.schema_name, MIGRATIONS, max_size=settings.pool_size
    )
    bootstrap = settings.kafka_bootstrap_servers
    consumption = ReliableConsumption(
        group=GROUP, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=ALL_TOPICS
    )
    broker = new_broker(
        bootstrap,
        "intake",
        keys.signer,
        consumption=consumption,
        routers=[router],
        cluster=settings.kafka_cluster,
    )
    try:
        store = IntakeStore(pool, policy, secrets_box)
        broker.context.set_global("intake_store", store)
        broker.context.set_global("catalogue", catalogue)
        await start_broker(broker, bootstrap, ALL_TOPICS, [GROUP], cluster=settings.kafka_cluster)
        # Once, after migration 003: secrets that travelled in clear are replaced.
        await until_available("webhook secrets", store.webhook_settings.rotate_leaked_secrets)
        catalogue.replace_withdrawals(await until_available("withdrawals", store.withdrawals))
        context = IntakeContext(
            store=store,
            catalogue=catalogue,
            channels=channels,
            holder_ref_key=settings.holder_ref_key.get_secret_value().encode(),
            turnaround_policy=policy,
            max_batch_rows=settings.max_batch_rows,
            approving=Approving(
                EmployerReviewStore(pool), secrets_box, settings.web_base_url + "/sign-in"
            ),
            operator_token=settings.operator_token.get_secret_value(),
            own_service_urls=tuple(settings.own_service_urls),
        )
        web = WebDeps(
            settings=settings,
            store=store,
            accounts=AccountStore(pool),
            applying=Applying(store, catalogue, channels, context.holder_ref_key, policy),
            catalogue=catalogue,
            channels=channels,
            mail_box=secrets_box,
            data_box=SecretBox(base64.b64decode(settings.data_key.get_secret_value())),
            reports=PdfReports(settings.report_font),
        )
        health = {"database": database_check(pool), "kafka": kafka_check(broker)}
        notifications = Notifications(pool)
        relay = OutboxRelay(pool, PUBLISHERS, wakeup=outbox_signal(notifications))
        follow_api_key_revocations(notifications)
        loops = Loops()
        await run_until_stopped(
            {
                "notifications": notifications.run,
                "outbox relay": relay.run,
                "withdrawals refresh": lambda: refresh_withdrawals(
                    catalogue, store.withdrawals, settings.catalogue_refresh_seconds
                ),
            },
            [
                http_server(
                    create_app(context, health, loops),
                    settings.host,
                    settings.port,
                    reuse_port=settings.workers > 1 or settings.reuse_port,
                ),
                http_server(
                    employer_web_app(web, sections(web)),
                    settings.host,
                    settings.web_port,
                    reuse_port=settings.workers > 1 or settings.reuse_port,
                ),
                # The first worker's alone: its siblings share its ports, not its health.
                *own_health_server(
                    settings.host,
                    None if WORKER_MARKER in os.environ else settings.health_port,
                    health,
                    loops,
                ),
            ],
            loops,
        )
    finally:
        await broker.stop()
        await pool.close()


def serve() -> None:
    """The first process starts its sibling workers, which all share the port."""
    settings = load_settings(IntakeSettings, "intake")  # or exit with one line
    is_sibling = WORKER_MARKER in os.environ
    siblings = (
        []
        if is_sibling
        else start_sibling_workers("services.intake", settings.workers - 1, WORKER_MARKER)
    )
    try:
        run_service(main)
    finally:
        stop_workers(siblings)


WORKER_MARKER = "INTAKE_SIBLING_WORKER"

if __name__ == "__main__":
    serve()
