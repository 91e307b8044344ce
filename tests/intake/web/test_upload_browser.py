"""Uploading a CSV file in headless Chromium: check it, submit it, see each row's result and
open an accepted application. Each page is checked with axe-core."""

from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.async_api import Page, expect

from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.intake.support import PMI_QUALIFICATION, QUALIFICATION
from tests.intake.web.support import browse_as, session_for
from tests.intake.web.test_applications_browser import OVERFLOWING, PHONE
from tests.intake.web.test_upload import csv_of

pytestmark = pytest.mark.integration


async def assert_accessible(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def test_check_then_submit_a_csv_file(
    deps: WebDeps, web_url: str, page: Page, tmp_path: Path
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    hires = tmp_path / "hires.csv"
    hires.write_bytes(csv_of(("UP-BROWSER-1", QUALIFICATION), ("UP-BROWSER-2", PMI_QUALIFICATION)))
    await browse_as(page, web_url, applicant)
    await page.goto(f"{web_url}/lang?to=en&next=/upload")
    await expect(page.get_by_role("link", name="Download a template CSV")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_label("CSV file").set_input_files(hires)
    await page.get_by_role("button", name="Check").click()
    await expect(page.locator("#results")).to_contain_text("The file was checked")
    await expect(page.locator("#result-row-1")).to_contain_text("In order")
    await expect(page.locator("#result-row-2")).to_contain_text("channel.credential_jwt")
    await assert_accessible(page)

    await page.get_by_label("CSV file").set_input_files(hires)
    await page.get_by_role("button", name="Submit").click()
    await expect(page.locator("#results")).to_contain_text("The batch was submitted")
    await expect(page.locator("#result-row-1")).to_contain_text("Accepted")
    await expect(page.locator("#result-row-2")).to_contain_text("Refused")
    await assert_accessible(page)
    await page.screenshot(path=screenshots_dir() / "employer-upload.png", full_page=True)

    await page.locator("#result-row-1").get_by_role("link", name="Follow it").click()
    await expect(page.locator("#application")).to_contain_text("UP-BROWSER-1")


async def test_the_forms_fit_a_phones_width(deps: WebDeps, web_url: str, page: Page) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    await page.set_viewport_size(PHONE)
    await browse_as(page, web_url, applicant)
    for path in (f"/apply?qualification_id={PMI_QUALIFICATION}&q=PMP", "/upload"):
        await page.goto(f"{web_url}/lang?to=zh&next={quote(path)}")
        await expect(page.locator("main h1")).to_be_visible()
        assert await page.evaluate(OVERFLOWING) == [], path
        await assert_accessible(page)
