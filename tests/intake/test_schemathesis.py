"""schemathesis against intake's own `/openapi.json`: every check, every phase (stateful
included), as an employer with a real API key, on a real uvicorn over a real PostgreSQL (the
delivery routes read intake's own projection of the notifier's delivery updates).

The budget is bounded for CI (`QV_SCHEMATHESIS_MAX_EXAMPLES` cases per operation and phase,
seed fixed); raise it by hand to search harder, e.g.
`QV_SCHEMATHESIS_MAX_EXAMPLES=100 QV_SCHEMATHESIS_BUDGET_SECONDS=1800 .venv/bin/pytest -s
-o timeout=1800 tests/intake/test_schemathesis.py`."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from deploy.local.processes import free_port
from services.intake.store.repository import IntakeStore
from services.runtime.lifecycle import http_server
from tests.intake.support import credit_code, intake_app, intake_pool, write_channels

pytestmark = pytest.mark.integration

MAX_EXAMPLES = int(os.environ.get("QV_SCHEMATHESIS_MAX_EXAMPLES", "8"))
SEED = int(os.environ.get("QV_SCHEMATHESIS_SEED", "20260901"))
BUDGET_SECONDS = float(os.environ.get("QV_SCHEMATHESIS_BUDGET_SECONDS", "240"))
CONFIG = Path(__file__).with_name("schemathesis.toml")


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    port = free_port()
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class ServedIntake:
    url: str
    api_key: str = field(repr=False)


@pytest_asyncio.fixture(scope="module")
async def intake(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServedIntake]:
    """The served intake, and an employer's API key."""
    pool = await intake_pool(module_database)
    store = IntakeStore(pool)
    _, api_key = await store.create_employer(credit_code(8801), "Schemathesis Ltd.")
    app = intake_app(store, write_channels(tmp_path_factory.mktemp("channels")))
    async with serving(app) as url:
        yield ServedIntake(url, api_key)
    await pool.close()


async def test_schemathesis_finds_nothing(intake: ServedIntake, tmp_path: Path) -> None:
    url, api_key = intake.url, intake.api_key
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG)),
        *("run", f"{url}/openapi.json"),
        *("--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"),
        *("--header", f"Authorization: Bearer {api_key}"),
        *("--request-timeout", "10", "--no-color"),
        *("--report", "junit", "--report-dir", str(tmp_path)),
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(BUDGET_SECONDS):
        output, _ = await process.communicate()
    report = output.decode(errors="replace").replace(api_key, "<api key>")
    print(report)
    assert process.returncode == 0, report
