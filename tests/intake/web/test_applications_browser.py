"""Following applications in headless Chromium: a row changes by itself when the request's
status changes (no reload), on a phone's width too, and the detail shows the verdict's checks.
Each page is checked with axe-core."""

import pytest
from playwright.async_api import Page, ViewportSize, expect

from services.contracts.events import Stage, Verdict, VerificationProgressed
from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.intake.support import consume
from tests.intake.web.support import browse_as, session_for
from tests.intake.web.test_applications import CODE, applied, verdict

pytestmark = pytest.mark.integration

PHONE = ViewportSize(width=390, height=844)
# Elements sticking out past the right edge of the window (not inside a scrolling table).
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-wrap'))
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName + '.' + e.className)"""


async def assert_accessible(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def test_a_row_follows_its_request_without_a_reload_on_a_phone(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record = await applied(deps, viewer.employer_id, "LIVE-BROWSER-1")
    await page.set_viewport_size(PHONE)
    await browse_as(page, web_url, viewer)
    await page.goto(f"{web_url}/lang?to=en&next=/applications")
    row = page.locator(f"#row-{record.id}")
    await expect(row).to_contain_text("Accepted")
    await assert_accessible(page)
    assert await page.evaluate(OVERFLOWING) == []
    await page.evaluate("() => { window.loadedOnce = true }")

    progressed = VerificationProgressed(
        request_id=record.id, employer_id=record.employer_id, stage=Stage.WAITING_FOR_BODY
    )
    await consume(deps.store, progressed)
    await expect(row).to_contain_text("waiting for an awarding body")
    await consume(deps.store, verdict(record))
    await expect(row).to_contain_text("Authentic")
    assert await page.evaluate("() => window.loadedOnce === true")  # the same page, not reloaded
    phone_shot = screenshots_dir() / "employer-applications-phone.png"
    await page.screenshot(path=phone_shot, full_page=True)
    await assert_accessible(page)


async def test_the_detail_shows_the_verdicts_checks_and_follows_the_status(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record = await applied(deps, viewer.employer_id, "DETAIL-BROWSER-1")
    await browse_as(page, web_url, viewer)
    await page.goto(f"{web_url}/lang?to=en&next=/applications/{record.id}")
    await expect(page.locator("#application")).to_contain_text("Expected completion")
    await assert_accessible(page)

    await consume(deps.store, verdict(record, Verdict.AUTHENTIC))
    await expect(page.locator("#application")).to_contain_text(CODE)
    await expect(page.get_by_role("link", name="Download the report (PDF)")).to_have_attribute(
        "href", f"/applications/{record.id}/report.pdf"
    )
    checks = page.get_by_role("table").nth(1)
    await expect(checks).to_contain_text("经证书查询接口确认")
    await expect(checks).to_contain_text("confirmed via credential_api")
    check_link = page.get_by_role("link", name="Check it on the public page")
    assert (await check_link.get_attribute("href") or "").startswith(
        f"{deps.settings.public_check_url}?code="
    )
    await assert_accessible(page)
    await page.screenshot(path=screenshots_dir() / "employer-application.png", full_page=True)
