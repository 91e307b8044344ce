"""A jointly awarded qualification verified end to end: CDCS is awarded by LIBF, ICC and BAFT
together, each holds the same certificate, each confirms it, and the platform codes it."""

import asyncio
from typing import Any

import httpx
import pytest

from services.intake.admin import register_employer
from simulator.population import JOINT_AWARDS, find_joint, lookup
from simulator.settings import SimulatorSettings
from tests.e2e.conftest import RunningPlatform

CDCS = next(award for award in JOINT_AWARDS if award.prefix == "CDCS")
SEED = SimulatorSettings().seed


async def decided(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            body: dict[str, Any] = (await client.get(f"/v1/verifications/{request_id}")).json()
            if body["status"] not in {"accepted", "verifying"}:
                return body
            await asyncio.sleep(0.1)


@pytest.mark.e2e
async def test_a_joint_award_is_verified_authentic_by_every_co_awarding_body(
    platform: RunningPlatform,
) -> None:
    certificate = find_joint(SEED, CDCS.qualification_id)
    for body in CDCS.body_ids:  # the precondition the issue found broken
        held = lookup(SEED, body, certificate.certificate_number)
        assert held is not None and held.holder_name == certificate.holder_name

    employer = await register_employer(
        "91110108MA01JNT021", "Joint Award Employer", platform.platform.database_url
    )
    async with httpx.AsyncClient(
        base_url=platform.platform.intake_url,
        headers={"Authorization": f"Bearer {employer['api_key']}"},
    ) as client:
        response = await client.post(
            "/v1/verifications",
            json={
                "qualification_id": CDCS.qualification_id,
                "region": "beijing",
                "holder": {
                    "name": certificate.claimed_name,
                    "nationality": "GBR",
                    "document_type": "passport",
                    "document_number": "P7731904",
                },
                "certificate": {
                    "number": certificate.certificate_number,
                    "issued_on": certificate.issued_on.isoformat(),
                },
                "consent": True,
            },
        )
        assert response.status_code == 202, response.text
        assert sorted(response.json()["body_ids"]) == sorted(CDCS.body_ids)
        result = await decided(client, response.json()["id"])

    assert result["status"] == "authentic", (result["reason"], result["checks"])
    code = result["verification_code"]
    assert code
    public_check = f"http://127.0.0.1:{platform.platform.ports.registry_public}/v1/codes/{code}"
    async with httpx.AsyncClient() as anyone:
        checked = await anyone.get(public_check)
    assert checked.status_code == 200, checked.text
    public = checked.json()
    assert public["status"] == "valid"
    assert public["qualification"]["id"] == CDCS.qualification_id
    assert [body["id"] for body in public["awarding_bodies"]] == list(CDCS.body_ids)
