"""Composition of the running registry: pool, migrations, gRPC server and ops HTTP server."""

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import asyncpg
import uvicorn
from faststream.kafka import KafkaBroker

from services.contracts.topics import ALL_TOPICS
from services.reference.catalogue.loader import load_edition
from services.registry.api.public import PublicApi
from services.registry.api.server import GrpcOptions, GrpcServer, start_grpc_server
from services.registry.api.servicer import ServiceParts
from services.registry.concluding import Concluding
from services.registry.domain.statements import Issuer
from services.registry.events.router import CONCLUDING, registry_events
from services.registry.settings import RegistrySettings
from services.registry.store import MIGRATIONS, SCHEMA
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.check_budget import address_key
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.registry.store.outcomes import OutcomeStore, outcome_signal
from services.registry.store.subscribers import SubscriberLog
from services.runtime.event_auth import EventKeys
from services.runtime.health import kafka_check
from services.runtime.lifecycle import HttpServer, http_server
from services.runtime.messaging import new_broker, start_broker
from services.runtime.notifications import Notifications, Signal
from services.runtime.observability import ops_server
from services.runtime.outbox import OutboxRelay, outbox_signal
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from services.runtime.resilience import Loops, keep_running, until_available
from services.runtime.startup import open_database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningRegistry:
    grpc: GrpcServer
    ops_port: int
    codes: CodeRepository
    public_port: int = 0
    parts: ServiceParts | None = None

    @property
    def grpc_address(self) -> str:
        return self.grpc.address

    @property
    def public_url(self) -> str:
        return f"http://{self.grpc.host}:{self.public_port}"


async def serve(
    settings: RegistrySettings,
    stop: asyncio.Event,
    on_ready: Callable[[RunningRegistry], None] | None = None,
) -> None:
    """Runs the registry until `stop` is set, then drains gRPC calls within the grace period."""
    keys = EventKeys.load("registry")
    async with contextlib.AsyncExitStack() as cleanup:
        pool = await open_database(
            settings.database_url,
            SCHEMA,
            MIGRATIONS,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
        )
        cleanup.push_async_callback(pool.close)
        notifications = Notifications(pool)
        outcomes_changed = outcome_signal(notifications)
        parts, codes = await until_available(
            "catalogue", lambda: _prepare(pool, settings, outcomes_changed)
        )
        codes.follow_revocations(notifications)
        events = registry_events(settings.consumer_group)
        broker = new_broker(
            settings.kafka_bootstrap_servers,
            "registry",
            keys.signer,
            consumption=ReliableConsumption(
                group=settings.consumer_group,
                trusted=keys.trusted,
                inbox=PostgresInbox(pool),
                topics=ALL_TOPICS,
            ),
            routers=[events.router],
            cluster=settings.kafka_cluster,
        )
        broker.context.set_global(
            CONCLUDING, Concluding(codes, parts.outcomes, lambda: parts.catalogue.loaded)
        )
        ops_socket = cleanup.enter_context(_listen(settings.host, settings.ops_port))
        public_socket = cleanup.enter_context(
            _listen(settings.host, settings.public_port, reuse_port=settings.reuse_port)
        )
        grpc_server = await start_grpc_server(codes, parts, GrpcOptions.of(settings))
        settle_garbage_collector()
        cleanup.push_async_callback(grpc_server.server.stop, None)  # no-op after a clean stop
        checks = {"database": codes.ping, "kafka": kafka_check(broker)}
        # Both leave SIGTERM/SIGINT to the registry, which stops them after gRPC drains.
        loops = Loops()
        ops = ops_server(settings.host, settings.ops_port, checks, loops)
        public = HttpServer(_public_config(pool, codes, parts, settings))
        running = RunningRegistry(
            grpc_server,
            ops_socket.getsockname()[1],
            codes,
            public_socket.getsockname()[1],
            parts,
        )
        background: dict[str, Callable[[], Awaitable[None]]] = {
            # Lookups go on while Kafka is away: the broker starts (and stops) as a loop.
            "kafka": partial(
                _run_kafka,
                broker,
                OutboxRelay(pool, events.publishers, wakeup=outbox_signal(notifications)),
                settings,
            ),
            "notifications": notifications.run,
            "outcome subscribers": parts.subscribers.run,
        }
        log.info(
            "registry serving",
            extra={
                "grpc_address": running.grpc_address,
                "ops_port": running.ops_port,
                "public_port": running.public_port,
                "plaintext_port": running.grpc.plaintext_port,
            },
        )
        async with asyncio.TaskGroup() as tasks:
            workers = [
                tasks.create_task(keep_running(name, loop, loops))
                for name, loop in background.items()
            ]
            tasks.create_task(ops.serve(sockets=[ops_socket]))
            tasks.create_task(public.serve(sockets=[public_socket]))
            tasks.create_task(
                _stop_on(stop, grpc_server, [ops, public], workers, settings.grace_seconds)
            )
            if on_ready is not None:
                on_ready(running)
    log.info("registry stopped")


def settle_garbage_collector() -> None:
    """What startup built (catalogue, keys, grpc and Kafka machinery) lives as long as the
    process: frozen, full collections no longer walk it. Each lookup allocates a few dozen
    short-lived objects; a larger young generation collects them ten times less often. Under
    a lookup storm the collector took about a tenth of the event loop's time (py-spy)."""
    gc.freeze()
    gc.set_threshold(7_000, 10, 10)


async def _prepare(
    pool: asyncpg.Pool, settings: RegistrySettings, outcomes_changed: Signal
) -> tuple[ServiceParts, CodeRepository]:
    """Loads the catalogue edition and makes sure a signing key exists."""
    keys = SigningKeys(pool, settings.passphrase())
    await keys.ensure_current()
    catalogue = CatalogueStore(pool)
    await catalogue.load(load_edition(settings.catalogue_file))
    parts = ServiceParts(
        catalogue=catalogue,
        outcomes=OutcomeStore(pool),
        signal=outcomes_changed,
        audit=AuditLog(pool),
        keys=keys,
        subscribers=SubscriberLog(pool, settings.subscriber_write_seconds),
        poll_seconds=settings.stream_poll_seconds,
    )
    codes = CodeRepository(pool, signer=keys, issuer=Issuer(settings.public_base_url))
    return parts, codes


def _public_config(
    pool: asyncpg.Pool, codes: CodeRepository, parts: ServiceParts, settings: RegistrySettings
) -> uvicorn.Config:
    api = PublicApi(
        codes=codes,
        catalogue=parts.catalogue,
        audit=parts.audit,
        keys=parts.keys,
        pool=pool,
        issuer=Issuer(settings.public_base_url),
        rate_limit=settings.public_rate_limit,
        address_key=address_key(settings.passphrase()),
    )
    return http_server(
        api.app(), settings.host, settings.public_port, trusted_proxies=settings.trusted_proxies
    ).config


@contextlib.asynccontextmanager
async def running_registry(settings: RegistrySettings) -> AsyncIterator[RunningRegistry]:
    """The registry serving in this event loop for the duration of the block (tests, runner).

    Use port 0 in `settings.grpc_port` and `settings.ops_port` to get free ports.
    """
    stop = asyncio.Event()
    ready: asyncio.Future[RunningRegistry] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, ready.set_result))
    try:
        await asyncio.wait((ready, task), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # given up while it waits for its dependencies
        task.cancel()
        raise
    if not ready.done():
        ready.cancel()
        await task  # raises why it could not start
        raise RuntimeError("the registry stopped before it was ready")
    try:
        yield ready.result()
    finally:
        stop.set()
        await task


async def _stop_on(
    stop: asyncio.Event,
    grpc_server: GrpcServer,
    http_servers: list[uvicorn.Server],
    workers: list[asyncio.Task[None]],
    grace: float,
) -> None:
    try:
        await stop.wait()
        log.info("registry stopping", extra={"grace_seconds": grace})
        await grpc_server.stop(grace)
    finally:
        for server in http_servers:
            server.should_exit = True
        for worker in workers:
            worker.cancel()


async def _run_kafka(broker: KafkaBroker, relay: OutboxRelay, settings: RegistrySettings) -> None:
    """The broker (the verdicts' subscriber) and the outbox relay publishing through it, which
    needs it connected first; both stop together, and start again once Kafka is back."""
    await start_broker(
        broker,
        settings.kafka_bootstrap_servers,
        ALL_TOPICS,
        [settings.consumer_group],
        cluster=settings.kafka_cluster,
    )
    try:
        await relay.run()
    finally:
        with contextlib.suppress(Exception):
            await broker.stop()


def _listen(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """Listening before uvicorn starts lets early probes queue instead of being refused.
    `reuse_port`: replicas on one machine share the port, the kernel spreading connections."""
    # IPPROTO_TCP explicitly: the event loop then turns Nagle off on accepted connections.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(128)
    return listener
