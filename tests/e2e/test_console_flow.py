"""The console's Flow and Catalogue watch pages in headless Chromium, with the whole platform
running: a verification that ran through the platform shows in the flow; opening it shows the
holder's name and leaves an audit entry; a qualification is withdrawn (scheduled) from the
catalogue watch, through the registry, and audited. No serious accessibility violation."""

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import (
    browser,
    describe_violations,
    page,
    screenshots_dir,
    serious_axe_violations,
)
from tests.console.conftest import browser_sign_in
from tests.e2e.conftest import ConsoleAccount, RunningPlatform
from tests.e2e.test_walking_skeleton import application, employer_client, final_status
from tests.intake.support import credit_code

pytestmark = pytest.mark.e2e

__all__ = ["browser", "page"]

SCREENSHOTS = screenshots_dir()
# No other test asks for it, and its withdrawal is only scheduled (far ahead): applications
# for it stay accepted for any other test on the shared broker.
WITHDRAWN = "huawei-0b790181"


async def axe_clean(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def verified_request(platform: RunningPlatform) -> tuple[str, str]:
    """Request id and the holder's name of a verification run through the platform."""
    certificate = find(SimulatorSettings().seed, "aws", "authentic", nth=1)
    async with await employer_client(platform, credit_code(7301)) as client:
        body = application(
            certificate.certificate_number,
            certificate.claimed_name,
            certificate.issued_on.isoformat(),
        )
        response = await client.post("/v1/verifications", json=body)
        assert response.status_code == 202, response.text
        request_id: str = response.json()["id"]
        assert (await final_status(client, request_id))["status"] == "authentic"
    return request_id, certificate.claimed_name


async def until_listed(page: Page, url: str, request_id: str) -> None:
    """Reloads the list of notified requests until the request is in it (the console learns
    of the outcome from Kafka)."""
    async with asyncio.timeout(60):
        while True:
            await page.goto(url)
            if await page.get_by_role("link", name=request_id).count():
                return
            await asyncio.sleep(0.5)


async def test_a_verification_in_the_flow_opened_and_audited(
    platform: RunningPlatform, console_account: ConsoleAccount, page: Page
) -> None:
    request_id, name = await verified_request(platform)
    url = console_account.url
    await page.set_viewport_size({"width": 1280, "height": 900})
    await browser_sign_in(page, url, console_account.username, console_account.password)

    await until_listed(page, f"{url}/flow/requests?stage=notified&window=60", request_id)
    await axe_clean(page)

    await page.goto(f"{url}/lang?to=en&next=/flow")
    await expect(page.get_by_role("heading", name="The flow of verifications")).to_be_visible()
    notified = page.locator("#flow-live").get_by_role("row", name=re.compile(r"^Notified \d"))
    await expect(notified).to_be_visible()
    await expect(notified.get_by_role("link").first).not_to_have_text("0")
    await expect(page.locator("#flow-live")).to_contain_text("aws")  # its answer time
    await page.wait_for_selector(".chart canvas")  # uPlot drew the arrivals
    await axe_clean(page)
    await page.screenshot(path=str(SCREENSHOTS / "flow.png"), full_page=True)

    await notified.get_by_role("link").first.click()
    await page.get_by_role("link", name=request_id).click()
    await expect(page.get_by_role("heading", name=re.compile(request_id))).to_be_visible()
    await expect(page.get_by_text(name, exact=True)).to_be_visible()  # unmasked for operators
    await expect(page.get_by_role("cell", name="outcome published")).to_be_visible()
    await axe_clean(page)

    await page.get_by_role("link", name="Who opened this request").click()
    entry = page.get_by_role("row", name=re.compile("open-request"))
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text(console_account.username)
    await expect(entry).not_to_contain_text(name)

    async with httpx.AsyncClient() as client:  # the alert rules' gauge, on the console itself
        metrics = (await client.get(f"{url}/metrics")).text
    assert re.search(r"^qv_verifications_stuck \d", metrics, re.MULTILINE)


async def test_a_qualification_withdrawn_from_the_catalogue_watch(
    platform: RunningPlatform, console_account: ConsoleAccount, page: Page
) -> None:
    url = console_account.url
    await page.set_viewport_size({"width": 1280, "height": 900})
    await browser_sign_in(page, url, console_account.username, console_account.password)
    await page.goto(f"{url}/lang?to=en&next=/catalogue")
    await expect(page.get_by_role("heading", name="Catalogue watch")).to_be_visible()
    await axe_clean(page)

    await page.get_by_role("link", name=f"Withdraw {WITHDRAWN}").click()
    await axe_clean(page)
    await page.get_by_label(re.compile("^Withdrawn from")).fill("2099-12-31")
    await page.get_by_label("Reason (required)").fill("Superseded by the 2099 edition")
    await page.get_by_label(re.compile("^I confirm")).check()
    await page.get_by_role("button", name="Withdraw").click()

    await expect(page.get_by_role("status")).to_contain_text("Withdrawal recorded")
    scheduled = page.locator("#withdrawals-scheduled + table")
    await expect(scheduled).to_contain_text(WITHDRAWN)
    await expect(scheduled).to_contain_text("2099-12-31")
    await expect(scheduled).to_contain_text("Superseded by the 2099 edition")
    await axe_clean(page)
    # The top of the page: 163 qualifications make the whole of it very long.
    await page.screenshot(path=str(SCREENSHOTS / "catalogue.png"))

    await page.get_by_role("status").get_by_role("link", name="audit log").click()
    entry = page.get_by_role("row", name=re.compile("withdraw-qualification"))
    await expect(entry).to_have_count(1)
    await expect(entry).to_contain_text("2099-12-31")
