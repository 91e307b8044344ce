"""An operator approves and rejects employers from the console, with the whole platform running
as separate processes: the console asks intake's operator API, intake queues each admin's mail
in the decision's transaction, the notifier sends it over SMTP, and it arrives in the mail
catcher, Chinese first, with where to sign in or the operator's reason."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from services.runtime.db import create_pool
from tests.browser import browser, describe_violations, page, serious_axe_violations
from tests.console.conftest import browser_sign_in
from tests.console.intake_support import pending_employer
from tests.e2e.conftest import ConsoleAccount, RunningPlatform
from tests.e2e.mail import next_mail

__all__ = ["browser", "page"]

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def intake_pool(platform: RunningPlatform) -> AsyncIterator[asyncpg.Pool]:
    """Intake's database on the platform, where sign-up would have left the employers."""
    pool = await create_pool(platform.platform.database_url, "intake", max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


async def no_serious_violations(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def test_an_approval_and_a_rejection_from_the_console_reach_the_employers_inbox(
    platform: RunningPlatform,
    console_account: ConsoleAccount,
    intake_pool: asyncpg.Pool,
    page: Page,
) -> None:
    approved = await pending_employer(intake_pool, "Harbour Engineering Ltd. 海港工程有限公司")
    rejected = await pending_employer(intake_pool, "Lookalike Trading Ltd. 仿冒贸易有限公司")
    url = console_account.url
    await browser_sign_in(page, url, console_account.username, console_account.password)
    await page.goto(f"{url}/lang?to=en&next=/employers")
    await page.get_by_role("link", name=approved.name).click()
    await expect(page.get_by_text(approved.email)).to_be_visible()
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Approved: {approved.name}")
    await no_serious_violations(page)

    await page.get_by_role("link", name=rejected.name).first.click()
    reason = "The credit code belongs to another company"
    await page.get_by_label("Reason for the rejection").fill(reason)
    await page.get_by_role("button", name="Reject").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Rejected: {rejected.name}")

    welcome = await next_mail(platform, approved.email, "Your organisation has been approved")
    assert welcome.link_to(platform.platform.employer_web_url) == (
        f"{platform.platform.employer_web_url}/sign-in"
    )
    assert welcome.body.index("已通过运营人员审核") < welcome.body.index("has been approved")
    refusal = await next_mail(platform, rejected.email, "Your organisation was not approved")
    assert f"Reason: {reason}" in refusal.body and "http" not in refusal.body

    statuses = await intake_pool.fetch(
        "SELECT status, decided_by FROM employers WHERE id = ANY($1::uuid[]) ORDER BY status",
        [approved.id, rejected.id],
    )
    assert [tuple(row) for row in statuses] == [
        ("active", console_account.username),
        ("rejected", console_account.username),
    ]
    await page.goto(f"{url}/audit?target=employer:{approved.id}")
    await expect(page.get_by_text("employer-approve").first).to_be_visible()
