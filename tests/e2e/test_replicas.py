"""Every service as two replicas under the same consumer groups, sharing their ports as behind a
Kubernetes Service; one replica of each is SIGKILLed in the middle of a steady stream of
verifications, and nothing is lost or done twice."""

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.local.platform import REPLICATED, Platform, Ports, replica_name, service_specs
from deploy.local.supervisor import Supervisor
from tests.e2e.conftest import RunningPlatform
from tests.e2e.steady_traffic import (
    applications,
    await_completions,
    await_results,
    check_exactly_once,
    employer_subscribed,
    hook_log,
    longest_gap,
    submit_steadily,
)
from tests.infra import Infra

PER_SECOND = 8.0  # 200 applications over 25 s
KILL_AFTER_SECONDS = 10.0
# Work held by a killed replica is taken over when its lease runs out: short here, so the test
# waits seconds for it, not the production half-minute.
TAKEOVER_ENV = {
    "VERIFIER_LEASE_SECONDS": "6",
    "NOTIFIER_LEASE_SECONDS": "4",
    "NOTIFIER_DELIVERY_TIMEOUT_SECONDS": "3",
}


@pytest_asyncio.fixture(scope="module")
async def replicated(
    infra: Infra, module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningPlatform]:
    logs = tmp_path_factory.mktemp("replica-logs")
    platform = Platform(infra.kafka_bootstrap_servers, module_database, Ports.free(), replicas=2)
    extra = TAKEOVER_ENV | {
        "NOTIFIER_RETRY_TIME_SCALE": "0.0002",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "20",
    }
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs, extra))
        yield RunningPlatform(platform, supervisor)


@pytest.mark.e2e
@pytest.mark.timeout(420)
async def test_killing_one_replica_of_each_service_loses_and_repeats_nothing(
    replicated: RunningPlatform,
) -> None:
    platform, supervisor = replicated.platform, replicated.supervisor
    assert all(supervisor.is_running(replica_name(s, 2)) for s in REPLICATED)
    killed_at: list[float] = []

    async def kill_one_of_each() -> None:
        await asyncio.sleep(KILL_AFTER_SECONDS)
        killed_at.append(time.monotonic())
        await asyncio.gather(*(supervisor.kill(replica_name(s, 2)) for s in REPLICATED))

    async with hook_log() as log:
        api_key = await employer_subscribed(platform.database_url, platform.intake_url, log.url)
        headers = {"Authorization": f"Bearer {api_key}"}
        async with httpx.AsyncClient(
            base_url=platform.intake_url, headers=headers, timeout=10
        ) as client:
            submitted = await submit_steadily(
                client, applications(), PER_SECOND, during=kill_one_of_each
            )
            request_ids = list(submitted.ids.values())
            results = await await_results(client, request_ids, timeout=120)
        await await_completions(log, set(request_ids), timeout=60)
        findings = await check_exactly_once(
            platform.database_url, platform.kafka_bootstrap_servers, submitted, results, log
        )
    assert all(supervisor.is_running(s) for s in REPLICATED), "a surviving replica died"
    assert await console_saw_all(platform.database_url, request_ids)

    completions = sorted(log.completed_at().values())
    kill = killed_at[0]
    print(
        f"\nreplicas: {len(request_ids)} verifications, one replica of each service killed at "
        f"{kill - completions[0]:.1f} s; client retries {submitted.retries} "
        f"({submitted.answered_200} answered 200: created by an earlier attempt); "
        f"webhook arrivals repeating an id {findings.webhook_duplicates}; outcome records "
        f"{findings.outcome_records} for {findings.outcome_events} events; longest gap between "
        f"completions before the kill {longest_gap(completions, completions[0], kill):.2f} s, "
        f"after it {longest_gap(completions, kill, completions[-1]):.2f} s"
    )


async def console_saw_all(database_url: str, request_ids: list[str]) -> bool:
    """The surviving console took over the killed one's partitions: its projection (in
    PostgreSQL, shared by both) shows every verification notified."""
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(60):
            while True:
                seen = await conn.fetchval(
                    "SELECT count(*) FROM console.flow_requests "
                    "WHERE request_id = ANY($1::uuid[]) AND notified_at IS NOT NULL",
                    request_ids,
                )
                if seen == len(request_ids):
                    return True
                await asyncio.sleep(0.5)
    finally:
        await conn.close()
