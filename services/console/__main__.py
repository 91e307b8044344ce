"""Composition root of the operators' console: settings -> stores and adapters -> web app."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg

from services.console.adapters import kafka_admin
from services.console.adapters.dead_letters import DeadLetterTopics
from services.console.adapters.intake import IntakeOperator
from services.console.adapters.registry import RegistryOperator
from services.console.adapters.verifier import VerifierOps
from services.console.domain.flow import StuckRules
from services.console.events.router import CONSUMED_TOPICS, GROUP, PROJECTION, router
from services.console.settings import ConsoleSettings
from services.console.store.accounts import Accounts
from services.console.store.audit import AuditLog
from services.console.store.dead_letters import DeadLetterActions
from services.console.store.paths import MIGRATIONS
from services.console.store.projection import Projection
from services.console.store.samples import SampleStore
from services.console.store.sealed_names import NameBox
from services.console.usecases.catalogue_watch import CatalogueWatchUse
from services.console.usecases.dead_letters import DeadLetters
from services.console.usecases.flow import FlowWatch, forget_names, keep_stuck_gauge
from services.console.usecases.sampling import Sampler
from services.console.usecases.sign_in import SignIn
from services.console.usecases.topics import TopicsOverviewReader
from services.console.web.app import console_app
from services.console.web.deps import Deps
from services.console.web.sections import section_routes
from services.contracts.topics import dead_letter_of
from services.runtime.environment import load_settings
from services.runtime.event_auth import EventKeys
from services.runtime.health import database_check
from services.runtime.lifecycle import http_server, run_service, run_until_stopped
from services.runtime.messaging import new_broker, run_broker
from services.runtime.observability import configure_logging, own_health_server
from services.runtime.reliability import PostgresInbox, ReliableConsumption
from services.runtime.resilience import Loops
from services.runtime.startup import open_database

SESSION_SWEEP_SECONDS = 600.0
NAME_SWEEP_SECONDS = 3600.0


def _sweep_sessions(accounts: Accounts) -> Callable[[], Awaitable[None]]:
    async def sweep() -> None:
        while True:
            await accounts.forget_expired_sessions()
            await asyncio.sleep(SESSION_SWEEP_SECONDS)

    return sweep


def core_deps(settings: ConsoleSettings, pool: asyncpg.Pool) -> Deps:
    """The stores and sign-in every console has; the composition root adds the adapters."""
    accounts = Accounts(pool)
    audit = AuditLog(pool)
    sign_in = SignIn(
        accounts,
        audit,
        session_lifetime=timedelta(hours=settings.session_hours),
        lock_after=settings.lockout_after,
        first_lock_seconds=settings.lockout_seconds,
    )
    return Deps(settings, pool, accounts, audit, sign_in)


async def main() -> None:
    settings = load_settings(ConsoleSettings, "console")
    configure_logging("console", settings.log_level)
    pool = await open_database(
        settings.database_url, settings.schema_name, MIGRATIONS, max_size=settings.pool_size
    )
    try:
        deps = core_deps(settings, pool)
        deps.verifier = VerifierOps.connect(
            settings.verifier_url, settings.verifier_operator_token.get_secret_value()
        )
        deps.registry = RegistryOperator.connect(
            settings.registry_target, settings.registry_tls_dir
        )
        deps.intake = IntakeOperator.connect(
            settings.intake_url, settings.intake_operator_token.get_secret_value()
        )
        keys = EventKeys.load("console")
        projection = Projection(pool, NameBox.at_start(settings.data_key))
        topics = [*CONSUMED_TOPICS, *(dead_letter_of(topic) for topic in CONSUMED_TOPICS)]
        consumption = ReliableConsumption(
            group=GROUP, trusted=keys.trusted, inbox=PostgresInbox(pool), topics=topics
        )
        broker = new_broker(
            settings.kafka_bootstrap_servers,
            "console",
            keys.signer,
            consumption=consumption,
            routers=[router],
            cluster=settings.kafka_cluster,
        )
        broker.context.set_global(PROJECTION, projection)
        deps.flow = flow = FlowWatch(
            projection,
            deps.audit,
            deps.verifier,
            max_rows=settings.flow_max_rows,
            rules=StuckRules(settings.stuck_pickup_seconds, settings.stuck_notify_seconds),
        )
        deps.catalogue_watch = CatalogueWatchUse(
            projection, deps.registry, deps.audit, dormant_months=settings.dormant_months
        )
        samples = SampleStore(pool)
        sampler = Sampler(
            lambda: kafka_admin.connect(
                settings.kafka_bootstrap_servers, cluster=settings.kafka_cluster
            ),
            samples,
            interval_seconds=settings.sample_seconds,
            retention=timedelta(hours=settings.sample_retention_hours),
        )
        deps.topics = TopicsOverviewReader(
            sampler,
            samples,
            window=timedelta(seconds=settings.rate_window_seconds),
            stall_seconds=settings.stall_seconds,
            sample_seconds=settings.sample_seconds,
        )
        dead_letter_topics = DeadLetterTopics(
            settings.kafka_bootstrap_servers, cluster=settings.kafka_cluster
        )
        deps.dead_letters = DeadLetters(
            dead_letter_topics, DeadLetterActions(pool), deps.audit, sampler, keys.trusted
        )
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "sessions": _sweep_sessions(deps.accounts),
            "kafka sampler": sampler.run,
            # The pages are served while Kafka is away; the projection catches up after.
            "projection": lambda: run_broker(
                broker,
                settings.kafka_bootstrap_servers,
                topics,
                [GROUP],
                cluster=settings.kafka_cluster,
            ),
            "stuck verifications": lambda: keep_stuck_gauge(flow, settings.stuck_check_seconds),
            "forget names": lambda: forget_names(
                projection, settings.name_retention_days, NAME_SWEEP_SECONDS
            ),
        }
        states = Loops()
        app = console_app(deps, section_routes(deps), {"database": database_check(pool)}, states)
        servers = [
            http_server(app, settings.host, settings.port, reuse_port=settings.reuse_port),
            *own_health_server(
                settings.host, settings.health_port, {"database": database_check(pool)}, states
            ),
        ]
        await run_until_stopped(loops, servers, states)
    finally:
        if deps.dead_letters is not None:
            await dead_letter_topics.close()
        if deps.verifier is not None:
            await deps.verifier.aclose()
        if deps.registry is not None:
            await deps.registry.close()
        if deps.intake is not None:
            await deps.intake.aclose()
        await pool.close()


if __name__ == "__main__":
    run_service(main)
