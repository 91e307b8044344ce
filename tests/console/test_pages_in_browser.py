"""The console's own pages in headless Chromium: sign-in, the language switch, the audit log,
and no serious accessibility violation on any of them."""

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser import describe_violations, serious_axe_violations
from tests.console.conftest import OPERATOR, RunningConsole, browser_sign_in

pytestmark = pytest.mark.e2e


async def test_sign_in_switch_language_and_read_the_audit_log(
    console: RunningConsole, page: Page
) -> None:
    await page.goto(f"{console.url}/sign-in")
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
    await browser_sign_in(page, console.url, *OPERATOR)
    await page.goto(f"{console.url}/lang?to=zh&next=/")
    await expect(page.get_by_role("heading", name="总览")).to_be_visible()
    assert not (found := await serious_axe_violations(page)), describe_violations(found)

    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.get_by_role("link", name="Audit log").first.click()
    await expect(page.get_by_role("cell", name="sign-in").first).to_be_visible()
    assert not (found := await serious_axe_violations(page)), describe_violations(found)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile("/sign-in"))


async def test_a_wrong_password_keeps_the_reader_out(console: RunningConsole, page: Page) -> None:
    await page.goto(f"{console.url}/lang?to=zh&next=/sign-in")
    await page.get_by_label("用户名").fill(OPERATOR[0])
    await page.get_by_label("密码").fill("not the password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
