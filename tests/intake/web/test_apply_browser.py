"""Applying for one certificate in headless Chromium, as a person would: type to search the
catalogue, pick the qualification, check the form, see the refusal beside its field, submit
once and follow the application. Each page state is checked with axe-core."""

import pytest
from playwright.async_api import Page, expect

from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.intake.support import PMI_QUALIFICATION, QUALIFICATION
from tests.intake.web.support import browse_as, session_for

pytestmark = pytest.mark.integration


async def assert_accessible(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def fill_holder_and_certificate(page: Page, number: str) -> None:
    await page.get_by_label("Name as on the certificate").fill("ZHANG Wei")
    await page.get_by_label("Nationality").fill("CHN")
    await page.get_by_label("Identity document").select_option("resident_id")
    await page.get_by_label("Document number").fill("11010519491231002X")
    await page.get_by_label("Certificate number").fill(number)
    await page.get_by_label("Date of issue").fill("2024-03-01")
    await page.get_by_label("Where the employment is").select_option("tianjin")


async def test_type_pick_check_and_submit_one_application(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    await browse_as(page, web_url, applicant)
    await page.goto(f"{web_url}/lang?to=en&next=/apply")
    await assert_accessible(page)

    await page.get_by_label("Search the catalogue").press_sequentially("solutions architect")
    choice = page.locator(f'#matches a[href*="qualification_id={QUALIFICATION}"]')
    await expect(choice).to_be_visible()
    await choice.click()
    await expect(page.locator("#chosen input[name=qualification_id]")).to_have_value(QUALIFICATION)
    await expect(page.locator("#body-aws")).to_be_checked()

    await fill_holder_and_certificate(page, "BROWSER-1")
    await page.get_by_role("button", name="Check").click()
    consent_error = page.locator("#consent-error")
    await expect(consent_error).to_contain_text("must be true")
    await expect(page.get_by_label("Certificate number")).to_have_value("BROWSER-1")
    await expect(page.get_by_label("Where the employment is")).to_have_value("tianjin")
    await assert_accessible(page)

    await page.get_by_label("The holder consents to this verification").check()
    await page.get_by_role("button", name="Check").click()
    await expect(page.locator("#dry-run")).to_contain_text("The form is in order")
    await assert_accessible(page)

    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_role("heading", name="Application submitted")).to_be_visible()
    await expect(page.locator(".eta")).to_contain_text("Expected completion")
    await assert_accessible(page)
    await page.screenshot(path=screenshots_dir() / "employer-apply-submitted.png", full_page=True)

    await page.get_by_role("link", name="Follow this application").click()
    await expect(page.locator("#application")).to_contain_text("BROWSER-1")
    await assert_accessible(page)
    count = await deps.store._pool.fetchval(
        "SELECT count(*) FROM intake.requests WHERE certificate_number = 'BROWSER-1'"
    )
    assert count == 1


async def test_unticking_a_body_changes_the_channel_fields_in_place(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    await browse_as(page, web_url, applicant)
    await page.goto(f"{web_url}/lang?to=en&next=/apply")
    await page.get_by_label("Name as on the certificate").fill("Kenji Nguyen")
    await page.get_by_label("Search the catalogue").press_sequentially("PMP")
    choice = page.locator(f'#matches a[href*="qualification_id={PMI_QUALIFICATION}"]')
    await choice.click()
    jwt = page.get_by_label("Digital credential (JWT)")
    await expect(jwt).to_be_visible()
    await page.locator("#body-pmi").uncheck()
    await expect(jwt).to_have_count(0)
    await expect(page.get_by_label("Name as on the certificate")).to_have_value("Kenji Nguyen")
    await assert_accessible(page)
