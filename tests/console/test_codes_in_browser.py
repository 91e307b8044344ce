"""Revoking a code from the console in headless Chromium, against a real registry over mutual
TLS, and the audit entries it leaves: the console's audit log and the registry's trail."""

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from playwright.async_api import Page, expect

from services.console.web import codes
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.console.conftest import OPERATOR, browser_sign_in
from tests.console.registry_fixtures import RegistryConsole, registry_console
from tests.infra import Infra

pytestmark = pytest.mark.e2e

SCREENSHOTS = screenshots_dir()


@pytest.fixture(scope="module")
async def site(
    infra: Infra, module_database: str, console_pool: asyncpg.Pool
) -> AsyncIterator[RegistryConsole]:
    async with registry_console(infra, module_database, console_pool, codes.routes) as running:
        yield running


async def no_serious_violations(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def test_an_operator_revokes_a_code_and_both_audit_trails_show_it(
    site: RegistryConsole, page: Page
) -> None:
    code = await site.issue_code(holder_name="ZHANG Wei", region="tianjin")
    await site.operator.lookup(code)  # an earlier access, already in the registry's trail
    await browser_sign_in(page, site.url, *OPERATOR)
    await page.goto(f"{site.url}/lang?to=en&next=/codes")
    await no_serious_violations(page)

    await page.get_by_label("Verification code").fill(code)
    await page.get_by_role("button", name="Look up").click()
    await expect(page.get_by_role("heading", name=re.compile(re.escape(code)))).to_be_visible()
    facts = page.get_by_role("table").first
    await expect(facts).to_contain_text("Valid")
    await expect(facts).to_contain_text("Z**** W**")
    await expect(facts).to_contain_text("Tianjin")
    await expect(page.locator("body")).not_to_contain_text("ZHANG Wei")
    await no_serious_violations(page)

    await page.get_by_label(re.compile("^Reason")).fill("the awarding body withdrew it")
    await page.get_by_label(re.compile("^I confirm")).check()
    await page.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_have_text("The code is revoked.")
    await expect(facts).to_contain_text("Revoked")
    await expect(facts).to_contain_text("the awarding body withdrew it")
    trail = page.locator("#code-trail")
    await expect(trail.get_by_role("cell", name="RevokeCode")).to_be_visible()
    await expect(trail.get_by_role("cell", name="LookupCode")).to_be_visible()
    await expect(page.get_by_role("button", name="Revoke")).to_have_count(0)
    await no_serious_violations(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "codes.png"), full_page=True)

    await page.get_by_role("link", name="This code in the console's audit log").click()
    await expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    revoked = page.get_by_role("row").filter(has_text="code-revoke")
    await expect(revoked).to_contain_text(OPERATOR[0])
    await expect(revoked).to_contain_text("the awarding body withdrew it")
    await expect(page.get_by_role("row").filter(has_text="code-lookup")).not_to_have_count(0)
    await no_serious_violations(page)

    # The same page in Chinese.
    await page.goto(f"{site.url}/lang?to=zh&next=/codes?code={code}")
    await expect(page.get_by_role("heading", name="核验码", exact=True)).to_be_visible()
    await expect(page.get_by_role("table").first).to_contain_text("已撤销")
    await no_serious_violations(page)
