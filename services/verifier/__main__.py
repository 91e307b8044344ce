"""Composition root of the verifier: settings -> adapters -> consumer; nothing else."""

import os
import socket
import uuid

import httpx
from starlette.applications import Starlette

from services.contracts.topics import ALL_TOPICS
from services.reference.catalogue.loader import load_edition
from services.reference.channels import ChannelType, load_channel_book
from services.runtime.egress import EgressPolicy, guarded_client
from services.runtime.environment import load_settings
from services.runtime.event_auth import EventKeys
from services.runtime.health import database_check, kafka_check
from services.runtime.lifecycle import http_server, run_service, run_until_stopped
from services.runtime.messaging import new_broker, start_broker
from services.runtime.notifications import Notifications
from services.runtime.observability import (
    configure_logging,
    database_away_handlers,
    ops_routes,
    own_health_server,
)
from services.runtime.outbox import OutboxRelay, outbox_signal
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from services.runtime.resilience import Loops
from services.runtime.startup import open_database
from services.verifier.api.enquiries import enquiry_routes
from services.verifier.api.operations import operator_routes
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.enquiry import EnquiryChannel
from services.verifier.channels.guard import HostGuard
from services.verifier.channels.http_clients import BodyClients
from services.verifier.channels.limits import BodyLimits
from services.verifier.channels.register import PublicRegisterChannel
from services.verifier.channels.signed_credential import SignedCredentialChannel
from services.verifier.events.router import GROUP, PUBLISHERS, VERIFIER, router
from services.verifier.settings import VerifierSettings
from services.verifier.store.breakers import SharedBreakers
from services.verifier.store.open_enquiries import OpenEnquiryReader
from services.verifier.store.replicas import Replicas
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from services.verifier.verifying import RequestVerifier, keep_leases


def build_channels(
    settings: VerifierSettings, http: httpx.AsyncClient, clients: BodyClients
) -> dict[ChannelType, Channel]:
    guard = HostGuard(policy=EgressPolicy.from_env())
    return {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(clients),
        ChannelType.PUBLIC_REGISTER: PublicRegisterChannel(clients),
        ChannelType.SIGNED_CREDENTIAL: SignedCredentialChannel(
            http,
            guard,
            bodies=clients,
            keys_ttl_seconds=settings.keys_cache_seconds,
            status_ttl_seconds=settings.status_list_cache_seconds,
        ),
        ChannelType.ASYNC_ENQUIRY: EnquiryChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.callback_base_url,
            settings.enquiry_sender,
        ),
    }


async def main() -> None:
    settings = load_settings(VerifierSettings, "verifier")
    configure_logging("verifier", settings.log_level)
    keys = EventKeys.load("verifier")
    # Every awarding body of the catalogue needs a channel: refuse to start otherwise.
    body_names = {body.id: body.name for body in load_edition().bodies}
    catalogue_bodies = list(body_names)
    book = load_channel_book(settings.channels_file, required_bodies=catalogue_bodies)
    pool = await open_database(
        settings.database_url, settings.schema_name, MIGRATIONS, max_size=settings.pool_size
    )
    broker = new_broker(
        settings.kafka_bootstrap_servers,
        "verifier",
        keys.signer,
        consumption=ReliableConsumption(
            group=GROUP, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=ALL_TOPICS
        ),
        routers=[router],
        cluster=settings.kafka_cluster,
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    egress = EgressPolicy.from_env()  # QV_EGRESS_ALLOW: the development allow-list
    clients = BodyClients(policy=egress)
    async with guarded_client(egress, limits=limits) as http:
        try:
            owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
            # Shared with the other replicas: each body's concurrency and its breaker.
            replicas = Replicas(
                pool,
                owner,
                interval=settings.heartbeat_seconds,
                ttl=settings.heartbeat_ttl_seconds,
            )
            body_limits = BodyLimits(owner, shared=True, heartbeat_seconds=replicas.interval)
            board = SharedBreakers(pool, owner)
            contacts = BodyContacts(
                book,
                settings.bodies_base_url,
                build_channels(settings, http, clients),
                backoff_base=settings.backoff_base_seconds,
                health_window_seconds=settings.health_window_seconds,
                limits=body_limits,
                board=board,
            )
            store = VerifierStore(pool)
            verifier = RequestVerifier(
                contacts,
                store,
                owner=owner,
                lease_seconds=settings.lease_seconds,
                max_in_flight=settings.max_in_flight,
            )
            broker.context.set_global(VERIFIER, verifier)
            await start_broker(
                broker,
                settings.kafka_bootstrap_servers,
                ALL_TOPICS,
                [GROUP],
                cluster=settings.kafka_cluster,
            )
            health = {"database": database_check(pool), "kafka": kafka_check(broker)}
            loops = Loops()
            app = Starlette(
                routes=[
                    *ops_routes(health, loops),
                    *enquiry_routes(
                        verifier.answer_arrived,
                        settings.callback_secret.get_secret_value(),
                        settings.operator_token.get_secret_value(),
                    ),
                    *operator_routes(
                        contacts,
                        OpenEnquiryReader(pool),
                        settings.operator_token.get_secret_value(),
                        instance=owner,
                        body_names=body_names,
                    ),
                ],
                exception_handlers=database_away_handlers(),
            )
            notifications = Notifications(pool)
            relay_wakeup = outbox_signal(notifications)
            board.follow(notifications, contacts.apply_shared)
            replicas.follow(notifications)
            await run_until_stopped(
                {
                    "notifications": notifications.run,
                    "outbox relay": OutboxRelay(pool, PUBLISHERS, wakeup=relay_wakeup).run,
                    "leases": lambda: keep_leases(verifier, settings.lease_seconds / 3),
                    "breakers": board.run,
                    "replicas": lambda: replicas.run(body_limits.set_live),
                },
                [
                    http_server(
                        app, settings.host, settings.ops_port, reuse_port=settings.reuse_port
                    ),
                    *own_health_server(settings.host, settings.health_port, health, loops),
                ],
                loops,
            )
        finally:
            await clients.aclose()
            await broker.stop()
            await pool.close()


if __name__ == "__main__":
    run_service(main)
