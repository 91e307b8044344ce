"""Revoking a code from the console, with the whole platform running as separate processes: a
certificate verified through the platform gets its code; the Tianjin system reads it and
subscribes to its outcomes over mutual TLS; an operator looks the code up and revokes it in
headless Chromium; the public check then says revoked, the registry's trail shows every access
and the revocation, the console's audit log names the operator, and the Regions page shows the
Tianjin subscriber."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from playwright.async_api import Page, expect

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.runtime.mtls import client_credentials
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import browser, describe_violations, page, serious_axe_violations
from tests.console.conftest import browser_sign_in
from tests.e2e.conftest import ConsoleAccount, RunningPlatform
from tests.e2e.test_walking_skeleton import application, employer_client, final_status
from tests.intake.support import credit_code

pytestmark = pytest.mark.e2e

__all__ = ["browser", "page"]

REASON = "the awarding body withdrew the certificate"
RegistryStub = registry_pb2_grpc.RegistryServiceStub


async def axe_clean(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def issued_code(platform: RunningPlatform) -> str:
    certificate = find(SimulatorSettings().seed, "aws", "authentic", nth=2)
    async with await employer_client(platform, credit_code(7302)) as client:
        body = application(
            certificate.certificate_number,
            certificate.claimed_name,
            certificate.issued_on.isoformat(),
        )
        response = await client.post("/v1/verifications", json=body)
        assert response.status_code == 202, response.text
        decided = await final_status(client, response.json()["id"])
    assert decided["status"] == "authentic", decided
    code: str = decided["verification_code"]
    return code


@contextlib.asynccontextmanager
async def tianjin(
    platform: RunningPlatform,
) -> AsyncIterator[registry_pb2_grpc.RegistryServiceStub]:
    """The Tianjin regional system's channel to the registry."""
    credentials = client_credentials(platform.platform.tls_dir, "tianjin")
    async with grpc.aio.secure_channel(platform.platform.registry_target, credentials) as channel:
        yield registry_pb2_grpc.RegistryServiceStub(channel)


async def test_an_operator_revokes_a_code_and_every_trail_keeps_it(
    platform: RunningPlatform, console_account: ConsoleAccount, page: Page
) -> None:
    code = await issued_code(platform)
    async with tianjin(platform) as region:
        read = await region.GetVerification(
            registry_pb2.GetVerificationRequest(code=code), timeout=10
        )
        assert read.verification.status == registry_pb2.CODE_STATUS_VALID
        stream = region.StreamOutcomes(
            registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_TIANJIN)
        )
        reading = asyncio.create_task(anext(aiter(stream), None))
        try:
            await revoke_in_the_console(console_account, page, code)
            await see_the_subscriber(console_account, page)
        finally:
            stream.cancel()
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    public = f"http://127.0.0.1:{platform.platform.ports.registry_public}"
    async with httpx.AsyncClient(base_url=public) as client:
        checked = (await client.get(f"/v1/codes/{code}")).json()
    assert checked["status"] == "revoked", checked


async def revoke_in_the_console(account: ConsoleAccount, page: Page, code: str) -> None:
    await browser_sign_in(page, account.url, account.username, account.password)
    await page.goto(f"{account.url}/lang?to=en&next=/codes")
    await page.get_by_label("Verification code").fill(code)
    await page.get_by_role("button", name="Look up").click()
    facts = page.get_by_role("table").first
    await expect(facts).to_contain_text("Valid")
    await expect(facts).to_contain_text("Tianjin")
    await axe_clean(page)

    await page.get_by_label(re.compile("^Reason")).fill(REASON)
    await page.get_by_label(re.compile("^I confirm")).check()
    await page.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_have_text("The code is revoked.")
    await expect(facts).to_contain_text(REASON)
    trail = page.locator("#code-trail")
    revoked = trail.get_by_role("row").filter(has_text="RevokeCode")
    await expect(revoked).to_contain_text("operator")
    await expect(trail.get_by_role("row").filter(has_text="tianjin")).to_contain_text(
        "GetVerification"
    )
    await axe_clean(page)

    await page.get_by_role("link", name="This code in the console's audit log").click()
    entry = page.get_by_role("row").filter(has_text="code-revoke")
    await expect(entry).to_contain_text(account.username)
    await expect(entry).to_contain_text(REASON)


async def see_the_subscriber(account: ConsoleAccount, page: Page) -> None:
    await page.goto(f"{account.url}/regions")
    subscribers = page.get_by_role("region", name="Tianjin").get_by_role("table").nth(1)
    await expect(subscribers.get_by_role("row").filter(has_text="tianjin")).to_contain_text(
        "connected"
    )
    await axe_clean(page)
