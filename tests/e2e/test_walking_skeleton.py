"""One certificate travels the whole path, one way, on real Kafka, PostgreSQL and the
simulator: employer POST -> intake -> Kafka -> verifier -> simulator; verdict -> Kafka ->
registry (code, regional outcome) -> Kafka -> notifier -> employer webhook; then status read
back and code looked up."""

import asyncio
from typing import Any

import asyncpg
import grpc
import httpx
import pytest

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.contracts.events import (
    Event,
    OutcomePublished,
    VerdictReached,
    VerificationConcluded,
    VerificationRequested,
)
from services.contracts.topics import (
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_REQUESTED,
)
from services.intake.admin import register_employer
from services.runtime.mtls import client_credentials
from simulator.population import find, unknown_certificate_number
from simulator.settings import SimulatorSettings
from tests.e2e.conftest import RunningPlatform, WebhookReceiver, verify_standard_webhook
from tests.kafka_probe import find_event

QUALIFICATION = "aws-e94e5145"  # AWS Certified Solutions Architect - Professional
SEED = SimulatorSettings().seed
FINAL = {"authentic", "not_authentic", "unable_to_verify", "needs_review"}


def application(number: str, name: str, issued_on: str = "2023-01-01") -> dict[str, Any]:
    return {
        "qualification_id": QUALIFICATION,
        "region": "tianjin",
        "holder": {
            "name": name,
            "nationality": "CHN",
            "document_type": "resident_id",
            "document_number": "11010519491231002X",
        },
        "certificate": {"number": number, "issued_on": issued_on},
        "consent": True,
    }


async def employer_client(running: RunningPlatform, credit_code: str) -> httpx.AsyncClient:
    employer = await register_employer(credit_code, "E2E Employer", running.platform.database_url)
    return httpx.AsyncClient(
        base_url=running.platform.intake_url,
        headers={"Authorization": f"Bearer {employer['api_key']}"},
    )


async def subscribe(client: httpx.AsyncClient, receiver: WebhookReceiver, database_url: str) -> str:
    response = await client.put("/v1/webhooks", json={"urls": [receiver.url]})
    assert response.status_code == 200, response.text
    secret: str = response.json()["endpoints"][0]["secret"]
    assert secret.startswith("whsec_")
    conn = await asyncpg.connect(database_url)
    try:  # the notifier learns of endpoints through Kafka; wait until it has this one
        async with asyncio.timeout(30):
            while not await conn.fetchval(
                "SELECT count(*) FROM notifier.webhook_endpoints WHERE url = $1", receiver.url
            ):
                await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return secret


async def final_status(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            body: dict[str, Any] = (await client.get(f"/v1/verifications/{request_id}")).json()
            if body["status"] in FINAL:
                return body
            await asyncio.sleep(0.1)


def about(request_id: str) -> Any:
    return lambda event: str(getattr(event, "request_id", "")) == request_id


@pytest.mark.e2e
async def test_authentic_certificate_travels_every_hop(
    platform: RunningPlatform, webhook_receiver: WebhookReceiver
) -> None:
    bootstrap = platform.platform.kafka_bootstrap_servers
    certificate = find(SEED, "aws", "authentic")
    async with await employer_client(platform, "91110108MA01ABCD2H") as client:
        secret = await subscribe(client, webhook_receiver, platform.platform.database_url)
        body = application(
            certificate.certificate_number,
            certificate.claimed_name,
            certificate.issued_on.isoformat(),
        )
        response = await client.post("/v1/verifications", json=body)
        assert response.status_code == 202, response.text
        accepted = response.json()
        request_id = accepted["id"]
        assert accepted["status"] == "accepted"
        assert accepted["body_ids"] == ["aws"]
        assert accepted["expected_completion_at"] > accepted["accepted_at"]

        requested = await find_event(bootstrap, VERIFICATION_REQUESTED.name, about(request_id))
        assert isinstance(requested, VerificationRequested)
        assert requested.holder.holder_ref != body["holder"]["document_number"]

        verdict = await find_event(bootstrap, VERDICT_REACHED.name, about(request_id))
        assert isinstance(verdict, VerdictReached)
        assert verdict.verdict == "authentic"
        assert verdict.holder_name == certificate.claimed_name  # for the registry's record

        concluded = await find_event(bootstrap, VERIFICATION_CONCLUDED.name, about(request_id))
        assert isinstance(concluded, VerificationConcluded)
        assert concluded.verdict == "authentic" and concluded.statement
        code = concluded.verification_code
        assert code is not None

        webhook = await webhook_receiver.next()
        assert verify_standard_webhook(secret, webhook)
        assert webhook.json()["data"]["request_id"] == request_id
        assert webhook.json()["data"]["verification_code"] == code

        outcome = await find_event(bootstrap, OUTCOME_PUBLISHED.name, about(request_id))
        assert isinstance(outcome, OutcomePublished)
        assert outcome.region == "tianjin" and outcome.verification_code == code

        status = await final_status(client, request_id)
        assert status["status"] == "authentic"
        assert status["verification_code"] == code
        assert {c["check"] for c in status["checks"]} == {"record", "name"}

    credentials = client_credentials(platform.platform.tls_dir, "tianjin")
    async with grpc.aio.secure_channel(platform.platform.registry_target, credentials) as channel:
        registry = registry_pb2_grpc.RegistryServiceStub(channel)
        lookup = await registry.LookupCode(registry_pb2.LookupCodeRequest(code=code), timeout=5)
        assert lookup.status == registry_pb2.CODE_STATUS_VALID
        assert lookup.qualification_id == QUALIFICATION
        assert certificate.claimed_name not in lookup.holder_name_masked


@pytest.mark.e2e
async def test_certificate_unknown_to_the_body_gets_no_code(
    platform: RunningPlatform, webhook_receiver: WebhookReceiver
) -> None:
    async with await employer_client(platform, "91110108MA01ABCD2H") as client:
        await subscribe(client, webhook_receiver, platform.platform.database_url)
        body = application(unknown_certificate_number("aws"), "LI Na")
        response = await client.post("/v1/verifications", json=body)
        assert response.status_code == 202, response.text
        request_id = response.json()["id"]

        webhook = await webhook_receiver.next()
        data = webhook.json()["data"]
        assert data["request_id"] == request_id
        assert data["status"] == "not_authentic"
        assert data["verification_code"] is None
        assert "no record" in data["reason"]["en"] and data["reason"]["zh"]

        status = await final_status(client, request_id)
        assert status["status"] == "not_authentic"
        assert status["verification_code"] is None

    credentials = client_credentials(platform.platform.tls_dir, "tianjin")
    async with grpc.aio.secure_channel(platform.platform.registry_target, credentials) as channel:
        registry = registry_pb2_grpc.RegistryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await registry.GetVerification(
                registry_pb2.GetVerificationRequest(request_id=request_id), timeout=5
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def _unused(_: Event) -> None: ...
