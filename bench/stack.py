"""Bringing up what a benchmark measures: infrastructure and platform processes."""

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psutil

from deploy.local.kafka import LocalKafka
from deploy.local.platform import Platform, Ports, service_of, service_specs
from deploy.local.postgres import LocalPostgres
from deploy.local.processes import free_port
from deploy.local.supervisor import ServiceSpec, Supervisor
from services.runtime.event_auth import write_event_keys


@contextlib.contextmanager
def infrastructure(work: Path) -> Iterator[tuple[str, str]]:
    """(kafka, database url): from KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL, else local ones."""
    with contextlib.ExitStack() as stack:
        database = os.environ.get("DATABASE_URL")
        if not database:
            postgres = LocalPostgres(work / "pg", free_port(), durable=True)
            database = stack.enter_context(postgres).dsn
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            broker = LocalKafka(work / "kafka", free_port(), free_port())
            kafka = stack.enter_context(broker).bootstrap_servers
        yield kafka, database


@contextlib.asynccontextmanager
async def platform(
    names: set[str] | None = None, extra_env: dict[str, str] | None = None, replicas: int = 1
) -> AsyncIterator[tuple[Platform, Supervisor]]:
    """The platform's processes (all, or only the services `names`, each as `replicas`
    processes) on fresh local infrastructure."""
    with tempfile.TemporaryDirectory(prefix="qv-bench-") as tmp:
        work = Path(tmp)
        with infrastructure(work) as (kafka, database):
            keys = write_event_keys(work / "keys")
            running = Platform(kafka, database, Ports.free(), keys, replicas=replicas)
            specs = [
                s
                for s in service_specs(running, work, extra_env)
                if names is None or service_of(s.name) in names
            ]
            async with Supervisor() as supervisor:
                await supervisor.start_all(specs)
                yield running, supervisor


def resident_megabytes(
    supervisor: Supervisor, specs: list[ServiceSpec] | None = None
) -> dict[str, float]:
    """Resident memory of each running service process, in MB."""
    sizes: dict[str, float] = {}
    for name in supervisor.names:
        pid = supervisor.pid(name)
        if pid is not None and supervisor.is_running(name):
            sizes[name] = psutil.Process(pid).memory_info().rss / 1e6
    return sizes
