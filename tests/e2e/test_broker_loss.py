"""The platform on a three-broker secured cluster (mutual TLS, a principal per service, ACLs,
replication 3, min.insync.replicas 2) loses a broker mid-stream, then, separately, the leader of
the request topic: nothing is lost or done twice, the flow resumes by itself, and the pause each
kill causes is measured against the gaps before it."""

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient

from deploy.local.kafka_cluster import LocalKafkaCluster, kafka_client_env
from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.supervisor import Supervisor
from services.contracts.topics import ALL_TOPICS, SERVICES, VERIFICATION_REQUESTED
from tests.e2e.steady_traffic import (
    HookLog,
    Submitted,
    applications,
    await_completions,
    await_results,
    check_exactly_once,
    employer_subscribed,
    hook_log,
    longest_gap,
    submit_steadily,
)
from tests.kafka_cluster import revived

PER_SECOND = 8.0
KILL_AFTER_SECONDS = 6.0
FIRST_PHASE = 110  # of the 200 applications; the second phase takes the rest
REQUESTED = VERIFICATION_REQUESTED.name


@dataclass
class ClusterPlatform:
    kafka: LocalKafkaCluster
    platform: Platform
    supervisor: Supervisor


@pytest_asyncio.fixture(scope="module")
async def on_cluster(
    module_database: str,
    _session_cluster: LocalKafkaCluster,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ClusterPlatform]:
    kafka = revived(_session_cluster)  # the session's cluster (tests/kafka_cluster.py)
    platform = Platform(
        kafka.bootstrap_servers,
        module_database,
        Ports.free(),
        kafka_client_env=kafka_client_env(kafka, SERVICES),
    )
    extra = {
        "NOTIFIER_RETRY_TIME_SCALE": "0.0002",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "20",
    }
    logs = tmp_path_factory.mktemp("cluster-platform-logs")
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs, extra))
        yield ClusterPlatform(kafka, platform, supervisor)


@dataclass(frozen=True)
class Phase:
    submitted: Submitted
    killed_node: int
    killed_at: float


async def run_phase(
    cluster: ClusterPlatform,
    client: httpx.AsyncClient,
    log: HookLog,
    bodies: Sequence[dict[str, Any]],
    leader: bool,
) -> Phase:
    """A steady stream of `bodies`; a broker SIGKILLed in its middle: the leader of the request
    topic's partition 0, or another one. Waits until every request is concluded."""
    kafka = cluster.kafka
    killed: list[tuple[int, float]] = []

    async def kill_a_broker() -> None:
        await asyncio.sleep(KILL_AFTER_SECONDS)
        leading = await kafka.leader_of(REQUESTED, 0)
        node = leading if leader else next(n.node_id for n in kafka.nodes if n.node_id != leading)
        killed.append((node, time.monotonic()))
        await asyncio.to_thread(kafka.nodes[node - 1].kill)

    submitted = await submit_steadily(client, bodies, PER_SECOND, during=kill_a_broker)
    request_ids = list(submitted.ids.values())
    await await_results(client, request_ids, timeout=150)
    await await_completions(log, set(request_ids), timeout=60)
    [(node, at)] = killed
    return Phase(submitted, node, at)


async def restore(kafka: LocalKafkaCluster, node_id: int) -> None:
    """The killed broker back, and every partition of the platform's topics in sync again, so
    the next kill leaves two replicas in sync."""
    node = kafka.nodes[node_id - 1]
    node.spawn()  # from the event loop's thread: it dies with this process
    await asyncio.to_thread(node.wait_ready, 120)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers, **kafka.admin_cluster.client_options()
    )
    await admin.start()
    try:
        async with asyncio.timeout(120):
            while True:
                described = await admin.describe_topics([t.name for t in ALL_TOPICS])
                if all(
                    len(p["isr"]) == len(p["replicas"]) for t in described for p in t["partitions"]
                ):
                    return
                await asyncio.sleep(0.5)
    finally:
        await admin.close()


def pause_report(name: str, log: HookLog, phase: Phase) -> str:
    completions = sorted(log.completed_at()[r] for r in phase.submitted.ids.values())
    before = longest_gap(completions, completions[0], phase.killed_at)
    after = longest_gap(completions, phase.killed_at, completions[-1])
    return (
        f"{name}: broker {phase.killed_node} killed {phase.killed_at - completions[0]:.1f} s "
        f"after the first completion; longest gap between completions before {before:.2f} s, "
        f"from the kill on {after:.2f} s; client retries {phase.submitted.retries}"
    )


@pytest.mark.e2e
@pytest.mark.timeout(480)
async def test_losing_a_broker_then_the_leader_loses_and_repeats_nothing(
    on_cluster: ClusterPlatform,
) -> None:
    kafka, platform = on_cluster.kafka, on_cluster.platform
    bodies = applications()
    async with hook_log() as log:
        api_key = await employer_subscribed(platform.database_url, platform.intake_url, log.url)
        headers = {"Authorization": f"Bearer {api_key}"}
        async with httpx.AsyncClient(
            base_url=platform.intake_url, headers=headers, timeout=10
        ) as client:
            follower = await run_phase(on_cluster, client, log, bodies[:FIRST_PHASE], leader=False)
            await restore(kafka, follower.killed_node)
            leader = await run_phase(on_cluster, client, log, bodies[FIRST_PHASE:], leader=True)
            both = Submitted(
                follower.submitted.ids | leader.submitted.ids,
                follower.submitted.retries + leader.submitted.retries,
            )
            results = await await_results(client, list(both.ids.values()), timeout=30)
        findings = await check_exactly_once(
            platform.database_url,
            kafka.bootstrap_servers,
            both,
            results,
            log,
            kafka.admin_cluster,
        )
        print(
            "\nbroker loss, "
            + pause_report("a follower", log, follower)
            + "\nbroker loss, "
            + pause_report("the leader of verification.requested.v1/0", log, leader)
            + f"\nwebhook arrivals repeating an id {findings.webhook_duplicates}; outcome "
            f"records {findings.outcome_records} for {findings.outcome_events} events"
        )
    assert all(on_cluster.supervisor.is_running(s) for s in SERVICES), "a service died"
