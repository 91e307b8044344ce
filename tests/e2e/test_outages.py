"""The platform rides out PostgreSQL and Kafka outages during traffic, and a killed service.

Its own PostgreSQL and Kafka (restarting the shared ones would break other tests), the four
services and the simulator as processes, supervised as `make run` does. While employers keep
submitting, PostgreSQL stops gracefully for a few seconds, then its postmaster is killed with
SIGKILL and started again, then the broker restarts. No service may exit; readiness goes false
and comes back; intake answers 503 with Retry-After (never 500) while the database is away.
Then the verifier is killed with SIGKILL: the supervisor restarts it and it takes its work
back. Every accepted request reaches exactly one verdict, and each authentic one one code.
"""

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.local.kafka import LocalKafka
from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.postgres import LocalPostgres
from deploy.local.processes import free_port
from deploy.local.supervisor import RestartPolicy, Supervisor
from services.intake.admin import register_employer
from services.runtime.event_auth import write_event_keys
from simulator.population import find, unknown_certificate_number
from simulator.settings import SimulatorSettings

pytestmark = pytest.mark.e2e

SERVICES = ("registry", "verifier", "notifier", "intake")
FINAL = {"authentic", "not_authentic", "unable_to_verify", "needs_review"}
SEED = SimulatorSettings().seed


@dataclass
class OwnInfra:
    postgres: LocalPostgres
    kafka: LocalKafka


@pytest.fixture(scope="module")
def own_infra() -> Iterator[OwnInfra]:
    # Not pytest's tmp_path: PostgreSQL's user must traverse it (see LocalPostgres).
    root = Path(tempfile.mkdtemp(prefix="qv-outages-"))
    # Fast, yet a commit is written (not fsynced) before it is acknowledged: a killed
    # postmaster must not lose what intake already answered 202 for.
    postgres = LocalPostgres(
        root / "postgres", free_port(), durable=False, extra_settings={"synchronous_commit": "on"}
    )
    kafka = LocalKafka(root / "kafka", free_port(), free_port())
    try:
        kafka.spawn()
        postgres.start()
        kafka.wait_ready()
        yield OwnInfra(postgres, kafka)
    finally:
        kafka.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Running:
    platform: Platform
    supervisor: Supervisor


@pytest_asyncio.fixture(scope="module")
async def running(
    own_infra: OwnInfra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Running]:
    logs = tmp_path_factory.mktemp("outage-logs")
    platform = Platform(
        own_infra.kafka.bootstrap_servers,
        own_infra.postgres.dsn,
        Ports.free(),
        event_keys_dir=write_event_keys(tmp_path_factory.mktemp("event-keys")),
    )
    extra = {
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "20",
        # Work whose verification failed in the outage is taken over once its lease ends.
        "VERIFIER_LEASE_SECONDS": "6",
    }
    restart = RestartPolicy(initial_backoff=0.2)
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs, extra, restart))
        yield Running(platform, supervisor)


@dataclass
class Observations:
    accepted: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0
    unready: set[str] = field(default_factory=set)
    not_live: list[str] = field(default_factory=list)
    killed: set[str] = field(default_factory=set)  # down on purpose: not a finding


def application(n: int) -> dict[str, Any]:
    """Every other one a certificate the simulator holds (authentic), else an unknown one."""
    if n % 2 == 0:
        certificate = find(SEED, "aws", "authentic", nth=(n // 2) % 60)
        number, name = certificate.certificate_number, certificate.claimed_name
        issued_on = certificate.issued_on.isoformat()
    else:
        number, name, issued_on = unknown_certificate_number("aws", n), "WANG Fang", "2023-01-01"
    return {
        "qualification_id": "aws-e94e5145",
        "region": "beijing",
        "holder": {
            "name": name,
            "nationality": "CHN",
            "document_type": "passport",
            "document_number": f"E{n:08d}",
        },
        "certificate": {"number": number, "issued_on": issued_on},
        "consent": True,
    }


async def submit_continuously(
    client: httpx.AsyncClient, seen: Observations, stop: asyncio.Event
) -> None:
    n = 0
    while not stop.is_set():
        try:
            response = await client.post("/v1/verifications", json=application(n))
        except httpx.TransportError:
            seen.statuses[0] += 1  # intake itself unreachable: must never happen
        else:
            seen.statuses[response.status_code] += 1
            if response.status_code == 202:
                seen.accepted.append(response.json()["id"])
            elif response.status_code == 503 and "retry-after" not in response.headers:
                seen.unavailable_without_retry_after += 1
        n += 1
        await asyncio.sleep(0.05)


async def watch_readiness(running: Running, seen: Observations, stop: asyncio.Event) -> None:
    ports = running.platform.ports
    urls = {
        "intake": f"http://127.0.0.1:{ports.intake}",
        "verifier": f"http://127.0.0.1:{ports.verifier_ops}",
        "notifier": f"http://127.0.0.1:{ports.notifier_ops}",
        "registry": f"http://127.0.0.1:{ports.registry_ops}",
    }
    async with httpx.AsyncClient(timeout=2, trust_env=False) as http:
        while not stop.is_set():
            for name, url in urls.items():
                if name in seen.killed:
                    continue
                try:
                    live = await http.get(f"{url}/livez")
                    ready = await http.get(f"{url}/readyz")
                except httpx.TransportError as error:  # the process is gone
                    if name not in seen.killed:  # killed while this request was under way
                        seen.not_live.append(f"{name}: {error!r}")
                    continue
                if live.status_code != 200 and name not in seen.killed:
                    seen.not_live.append(f"{name}: {live.status_code} {live.text[:200]}")
                if ready.status_code != 200:
                    seen.unready.add(name)
            await asyncio.sleep(0.2)


async def wait_all_ready(running: Running, timeout: float = 60) -> None:
    for name in SERVICES:
        await running.supervisor.wait_healthy(name, timeout)


def assert_all_alive(running: Running, restarted: frozenset[str] = frozenset()) -> None:
    for name in SERVICES:
        assert running.supervisor.is_running(name), (
            f"{name} exited with code {running.supervisor.returncode(name)}"
        )
        assert running.supervisor.restarts(name) == (1 if name in restarted else 0), name


async def kill_and_see_it_restarted(seen: Observations, running: Running, name: str) -> None:
    seen.killed.add(name)
    pid = running.supervisor.pid(name)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(60):
        while running.supervisor.restarts(name) == 0:
            await asyncio.sleep(0.1)
    await running.supervisor.wait_healthy(name, 60)
    assert running.supervisor.pid(name) != pid
    seen.killed.discard(name)


async def outage(seen: Observations, running: Running, interrupt: Any, what: str) -> None:
    seen.unready.clear()
    await asyncio.to_thread(interrupt)
    await wait_all_ready(running)
    assert_all_alive(running)
    assert seen.unready == set(SERVICES), f"not every service reported the {what} outage"


def graceful_postgres_restart(infra: OwnInfra) -> None:
    infra.postgres.stop()
    time.sleep(3)
    infra.postgres.start()


def killed_postmaster_restart(infra: OwnInfra) -> None:
    pid = infra.postgres.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(2)
    infra.postgres.stop()  # forgets the dead process
    infra.postgres.start()


def broker_restart(infra: OwnInfra) -> None:
    infra.kafka.stop()
    time.sleep(2)
    infra.kafka.start()


async def test_services_ride_out_database_and_broker_outages(
    running: Running, own_infra: OwnInfra
) -> None:
    employer = await register_employer("91110108MA01ABCD2H", "Outage Ltd.", own_infra.postgres.dsn)
    headers = {"Authorization": f"Bearer {employer['api_key']}"}
    seen = Observations()
    stop = asyncio.Event()
    async with (
        httpx.AsyncClient(
            base_url=running.platform.intake_url, headers=headers, timeout=30, trust_env=False
        ) as client,
        asyncio.TaskGroup() as background,
    ):
        background.create_task(submit_continuously(client, seen, stop))
        background.create_task(watch_readiness(running, seen, stop))
        try:
            await asyncio.sleep(2)
            await outage(seen, running, lambda: graceful_postgres_restart(own_infra), "graceful")
            await outage(seen, running, lambda: killed_postmaster_restart(own_infra), "kill -9")
            await outage(seen, running, lambda: broker_restart(own_infra), "broker")
            await kill_and_see_it_restarted(seen, running, "verifier")
            await asyncio.sleep(2)
        finally:
            stop.set()
    assert seen.not_live == []
    assert seen.statuses[500] == 0 and seen.statuses[0] == 0, seen.statuses
    assert seen.statuses[503] > 0 and seen.unavailable_without_retry_after == 0, seen.statuses
    assert set(seen.statuses) <= {202, 503}, seen.statuses
    await assert_each_decided_once(client_for(running, headers), seen.accepted, own_infra)
    assert_all_alive(running, restarted=frozenset({"verifier"}))


def client_for(running: Running, headers: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=running.platform.intake_url, headers=headers, timeout=10, trust_env=False
    )


async def assert_each_decided_once(
    client: httpx.AsyncClient, accepted: list[str], infra: OwnInfra
) -> None:
    assert len(accepted) > 50
    async with client:
        statuses = await final_statuses(client, accepted, within_seconds=90)
    conn = await asyncpg.connect(infra.postgres.dsn)
    try:
        outcomes = await conn.fetch(
            "SELECT request_id::text AS id, count(*) AS n FROM registry.outcomes GROUP BY 1"
        )
        codes = await conn.fetch(
            "SELECT request_id::text AS id, code FROM registry.verification_codes"
        )
    finally:
        await conn.close()
    verdicts = {row["id"]: row["n"] for row in outcomes}
    assert {request_id: verdicts.get(request_id) for request_id in accepted} == dict.fromkeys(
        accepted, 1
    )
    issued = {row["id"]: row["code"] for row in codes}
    for request_id, body in statuses.items():
        if body["status"] == "authentic":
            assert body["verification_code"].replace("-", "") == issued[request_id]


async def final_statuses(
    client: httpx.AsyncClient, request_ids: list[str], within_seconds: float
) -> dict[str, dict[str, Any]]:
    """Each request's final state; fails naming those still undecided after the deadline."""
    latest: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + within_seconds
    while True:
        for request_id in request_ids:
            if latest.get(request_id, {}).get("status") not in FINAL:
                response = await client.get(f"/v1/verifications/{request_id}")
                latest[request_id] = response.json()
        undecided = {
            request_id: (body.get("status"), body.get("stage"))
            for request_id, body in latest.items()
            if body.get("status") not in FINAL
        }
        if not undecided:
            return latest
        assert time.monotonic() < deadline, f"{len(undecided)} never decided: {undecided}"
        await asyncio.sleep(0.5)
