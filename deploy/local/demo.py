"""One certificate verified end to end, as the runner's proof that the platform works."""

import asyncio
import json
from typing import Any

import grpc
import httpx

from deploy.local.platform import Platform
from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.intake.admin import register_employer
from services.runtime.mtls import client_credentials
from simulator.population import find
from simulator.settings import SimulatorSettings

DEMO_QUALIFICATION = "aws-e94e5145"  # AWS Certified Solutions Architect - Professional
DEMO_BODY = "aws"
DEMO_EMPLOYER_CREDIT_CODE = "91110108MA01ABCD2H"
FINAL = {"authentic", "not_authentic", "unable_to_verify", "needs_review"}


def example_request(certificate_number: str, holder_name: str) -> dict[str, Any]:
    return {
        "qualification_id": DEMO_QUALIFICATION,
        "region": "beijing",
        "holder": {
            "name": holder_name,
            "nationality": "CHN",
            "document_type": "passport",
            "document_number": "E12345678",
        },
        "certificate": {"number": certificate_number, "issued_on": "2024-01-15"},
        "consent": True,
    }


async def run_demo(platform: Platform) -> dict[str, str]:
    employer = await register_employer(
        DEMO_EMPLOYER_CREDIT_CODE, "Demo Employer Ltd.", platform.database_url
    )
    certificate = find(SimulatorSettings().seed, DEMO_BODY, "authentic")
    body = example_request(certificate.certificate_number, certificate.claimed_name)
    body["certificate"]["issued_on"] = certificate.issued_on.isoformat()
    headers = {"Authorization": f"Bearer {employer['api_key']}"}
    async with httpx.AsyncClient(base_url=platform.intake_url, headers=headers) as client:
        accepted = (await client.post("/v1/verifications", json=body)).raise_for_status().json()
        outcome = await _await_outcome(client, accepted["id"])
    lookup = await _lookup(platform, outcome.get("verification_code"))
    return {
        "api_key": employer["api_key"],
        "certificate": certificate.certificate_number,
        "holder_name": certificate.claimed_name,
        "issued_on": certificate.issued_on.isoformat(),
        "status": outcome["status"],
        "code": outcome.get("verification_code") or "-",
        "lookup": lookup,
        "example_body": json.dumps(body, ensure_ascii=False),
    }


async def _await_outcome(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            current: dict[str, Any] = (await client.get(f"/v1/verifications/{request_id}")).json()
            if current["status"] in FINAL:
                return current
            await asyncio.sleep(0.2)


async def _lookup(platform: Platform, code: str | None) -> str:
    """As the Beijing regional system does: mutual TLS with its certificate."""
    if not code:
        return "no code"
    credentials = client_credentials(platform.tls_dir, "beijing")
    async with grpc.aio.secure_channel(platform.registry_target, credentials) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)
        response = await stub.LookupCode(registry_pb2.LookupCodeRequest(code=code), timeout=5)
    return str(registry_pb2.CodeStatus.Name(response.status))
