"""INTAKE_WORKERS: several intake processes share one port, and all stop with the first."""

import sys

import httpx
import psutil

from deploy.local.processes import free_port
from deploy.local.supervisor import ServiceSpec, Supervisor
from tests.infra import Infra


async def test_two_workers_serve_one_port_and_stop_together(
    infra: Infra, fresh_database: str
) -> None:
    port = free_port()
    spec = ServiceSpec(
        "intake",
        [sys.executable, "-m", "services.intake"],
        health_url=f"http://127.0.0.1:{port}/healthz",
        env={
            "INTAKE_PORT": str(port),
            "INTAKE_WORKERS": "2",
            "DATABASE_URL": fresh_database,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        },
        startup_timeout=60,
    )
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        first = psutil.Process(supervisor.pid("intake"))
        siblings = first.children()
        assert len(siblings) == 1
        async with httpx.AsyncClient() as client:
            for _ in range(20):
                assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        await supervisor.stop("intake")
    _, alive = psutil.wait_procs(siblings, timeout=20)
    assert not alive
