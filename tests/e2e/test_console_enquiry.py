"""An operator answers a parked enquiry from the console, with the whole platform running as
separate processes: an employer's request for a certificate of a body that answers only by
e-mail (and slowly) is parked by the verifier, shows on the console's Awarding bodies page,
is answered there in headless Chromium, and reaches its verdict and code; the console's audit
log keeps the action."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from services.intake.admin import register_employer
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import browser, describe_violations, page, serious_axe_violations
from tests.console.conftest import browser_sign_in
from tests.e2e.conftest import ConsoleAccount, RunningPlatform

__all__ = ["browser", "page"]

pytestmark = pytest.mark.e2e

BODY = "hk-edb"  # the Education Bureau of Hong Kong answers enquiries by e-mail
QUALIFICATION = "hk-edb-a9c4820e"
SEED = SimulatorSettings().seed


async def poll(client: httpx.AsyncClient, request_id: str, done: Any) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            body: dict[str, Any] = (await client.get(f"/v1/verifications/{request_id}")).json()
            if done(body):
                return body
            await asyncio.sleep(0.2)


async def test_an_enquiry_answered_from_the_console_decides_the_request(
    platform: RunningPlatform, console_account: ConsoleAccount, page: Page
) -> None:
    async with httpx.AsyncClient(base_url=platform.platform.simulator_url) as simulator:
        slow = await simulator.put(f"/admin/faults/{BODY}", json={"enquiry_delay_days": 1000})
        assert slow.status_code == 200, slow.text
    certificate = find(SEED, BODY)
    employer = await register_employer(
        "91110108MA01ENQ050", "Enquiry Employer", platform.platform.database_url
    )
    async with httpx.AsyncClient(
        base_url=platform.platform.intake_url,
        headers={"Authorization": f"Bearer {employer['api_key']}"},
    ) as client:
        response = await client.post(
            "/v1/verifications",
            json={
                "qualification_id": QUALIFICATION,
                "region": "hebei",
                "holder": {
                    "name": certificate.claimed_name,
                    "nationality": "CHN",
                    "document_type": "passport",
                    "document_number": "E55501234",
                },
                "certificate": {
                    "number": certificate.certificate_number,
                    "issued_on": certificate.issued_on.isoformat(),
                },
                "consent": True,
            },
        )
        assert response.status_code == 202, response.text
        request_id = response.json()["id"]
        await poll(client, request_id, lambda body: body.get("stage") == "parked")
        reference = f"{request_id}.{BODY}"

        await browser_sign_in(
            page, console_account.url, console_account.username, console_account.password
        )
        await page.goto(f"{console_account.url}/lang?to=en&next=/bodies")
        await expect(page.get_by_text(reference)).to_be_visible()
        assert not (found := await serious_axe_violations(page)), describe_violations(found)
        enquiry = page.get_by_role("row").filter(has=page.get_by_text(reference))
        await enquiry.get_by_role("link", name="Enter the answer").click()
        await page.get_by_label(re.compile("^Confirmed")).check()
        await page.get_by_label(re.compile("Name the body has registered")).fill(
            certificate.holder_name
        )
        await page.get_by_role("button", name="Record the answer").click()
        await expect(page.get_by_role("status")).to_contain_text(reference)

        decided = await poll(
            client, request_id, lambda body: body["status"] not in {"accepted", "verifying"}
        )
    assert decided["status"] == "authentic", (decided.get("reason"), decided.get("checks"))
    assert decided["verification_code"]

    await page.goto(f"{console_account.url}/audit?target=request:{request_id}")
    trail = page.get_by_role("row").filter(has=page.get_by_role("cell", name="enquiry-answer"))
    await expect(trail).to_have_count(1)
    await expect(trail).to_contain_text(console_account.username)
    await expect(trail).to_contain_text("status: confirmed")
    await expect(trail).to_contain_text("outcome: recorded")
