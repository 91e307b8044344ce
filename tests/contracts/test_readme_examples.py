"""The README tried as a new user would: the files its curl examples send (`examples/`) exist,
are accepted by intake's dry run exactly as it says, and name certificates the simulator really
holds; its URLs are plain ASCII (curl sends raw UTF-8, which the server refuses); and the
employer it registers is a new one."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import pytest_asyncio

from deploy.local.demo import DEMO_EMPLOYER_CREDIT_CODE
from services.intake.domain.identifiers import is_valid_credit_code
from services.intake.store.repository import IntakeStore
from services.reference.channels import DEFAULT_CHANNELS_FILE
from simulator.population import lookup
from simulator.settings import SimulatorSettings
from tests.intake.support import client_for, credit_code, intake_app, intake_pool

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
README = (REPO / "README.md").read_text(encoding="utf-8")
SENT_FILE = r"(?:-d|--data|--data-binary) @(\S+)"  # curl's "send this file"


@pytest_asyncio.fixture
async def employer(fresh_database: str) -> AsyncIterator[httpx.AsyncClient]:
    pool: asyncpg.Pool = await intake_pool(fresh_database)
    store = IntakeStore(pool)
    app: Any = intake_app(store, DEFAULT_CHANNELS_FILE)  # the channels make run uses
    async with await client_for(app, store, credit_code(9101)) as client:
        yield client
    await pool.close()


async def test_the_single_request_example_passes_the_dry_run(employer: httpx.AsyncClient) -> None:
    response = await employer.post(
        "/v1/verifications/check",
        content=(EXAMPLES / "request.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    assert response.json()["body_ids"] == ["aws"]


async def test_the_csv_example_gives_one_accepted_and_one_refused_row(
    employer: httpx.AsyncClient,
) -> None:
    response = await employer.post(
        "/v1/verification-batches/check",
        content=(EXAMPLES / "hires.csv").read_bytes(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["row"] for r in results] == [1, 2]
    assert results[0]["ok"] is True
    refusal = results[1]["problem"]
    assert refusal["type"].endswith("/problems/missing-channel-field")
    assert refusal["errors"][0]["column"] == "channel.credential_jwt"


def test_the_examples_name_certificates_the_simulator_holds() -> None:
    seed = SimulatorSettings().seed
    request = orjson.loads((EXAMPLES / "request.json").read_bytes())
    held = lookup(seed, "aws", request["certificate"]["number"])
    assert held is not None and held.claimed_name == request["holder"]["name"]
    rows = (EXAMPLES / "hires.csv").read_text(encoding="utf-8").splitlines()[1:]
    for row in rows:
        qualification, *_, number, issued_on, _consent = row.split(",")
        body = qualification.split("-", 1)[0]
        certificate = lookup(seed, body, number)
        assert certificate is not None and certificate.issued_on.isoformat() == issued_on


def curl_commands() -> list[str]:
    """Each `curl` command of the README's shell blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)
    commands = " ".join(blocks).replace("\\\n", " ").splitlines()
    return [line.strip() for line in commands if line.strip().startswith("curl")]


def test_every_file_a_curl_example_sends_is_in_the_repository() -> None:
    sent = [m for command in curl_commands() for m in re.findall(SENT_FILE, command)]
    assert sent, "the README sends files"
    assert [name for name in sent if not (REPO / name).is_file()] == []


def test_no_curl_example_puts_raw_non_ascii_into_a_url() -> None:
    urls = [u for command in curl_commands() for u in re.findall(r"https?://[^\s'\"]+", command)]
    assert urls
    assert [url for url in urls if not url.isascii()] == []


def test_the_register_employer_example_registers_a_new_employer() -> None:
    (code,) = re.findall(r"register-employer \\\n\s+--credit-code (\S+)", README)
    assert is_valid_credit_code(code)
    assert code != DEMO_EMPLOYER_CREDIT_CODE
