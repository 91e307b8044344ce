"""The platform as the local runner (`make run`) starts it: the notifier's e-mail reaches the
mail catcher, where a developer can read it, and freshly started services log no ERROR."""

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from deploy.local.platform import Platform, Ports, mail_directory, service_specs
from deploy.local.supervisor import Supervisor
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.e2e.conftest import RunningPlatform
from tests.e2e.test_walking_skeleton import application, employer_client
from tests.infra import Infra

pytestmark = pytest.mark.e2e

ADDRESS = "hr@runner.example.cn"


@dataclass
class Runner:
    running: RunningPlatform
    logs: Path


@pytest_asyncio.fixture(scope="module")
async def runner(
    infra: Infra, module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runner]:
    logs = tmp_path_factory.mktemp("runner-logs")
    platform = Platform(infra.kafka_bootstrap_servers, module_database, Ports.free())
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs))
        yield Runner(RunningPlatform(platform, supervisor), logs)


async def caught(mail_url: str, address: str, timeout: float = 60) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=mail_url) as client, asyncio.timeout(timeout):
        while True:
            listing = (await client.get("/")).json()["messages"]
            mine = [m for m in listing if address in m["to"]]
            if mine:
                return mine
            await asyncio.sleep(0.2)


async def test_the_notifiers_email_reaches_the_mail_catcher(runner: Runner) -> None:
    certificate = find(SimulatorSettings().seed, "aws", "authentic")
    body = application(
        certificate.certificate_number, certificate.claimed_name, certificate.issued_on.isoformat()
    )
    async with await employer_client(runner.running, "91110105MA02XK4P72") as client:
        emails = await client.put("/v1/webhooks/emails", json={"addresses": [ADDRESS]})
        assert emails.status_code == 200, emails.text
        await asyncio.sleep(0.5)  # the e-mail configuration travels through Kafka
        submitted = await client.post("/v1/verifications", json=body)
        assert submitted.status_code in (200, 202), submitted.text
        request_id = submitted.json()["id"]

    mail_url = f"http://127.0.0.1:{runner.running.platform.ports.mail_http}"
    (first, *_) = await caught(mail_url, ADDRESS)
    async with httpx.AsyncClient(base_url=mail_url) as client:
        raw = (await client.get(first["url"])).content
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    text = message.get_body(("plain",))
    assert text is not None and request_id in text.get_content()
    assert (mail_directory(runner.logs) / first["name"]).read_bytes() == raw


def test_freshly_started_services_log_no_error(runner: Runner) -> None:
    for log in sorted(runner.logs.glob("*.log")):
        errors = [line for line in log.read_text().splitlines() if is_error(line)]
        assert errors == [], f"{log.name}: {errors[:3]}"


def is_error(line: str) -> bool:
    """A JSON log line at ERROR or above, or plain output (a library's own) saying ERROR."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.startswith("ERROR")
    return isinstance(record, dict) and record.get("level") in {"ERROR", "CRITICAL"}
