"""The Employers section in headless Chromium against intake's real operator API: an operator
opens a pending sign-up and approves it; a viewer sees it without the buttons; no page shows a
serious accessibility violation, at a desktop's or a phone's width."""

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from services.console.__main__ import core_deps
from services.console.adapters.intake import IntakeOperator
from services.console.web import employers
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.console.conftest import (
    OPERATOR,
    VIEWER,
    browser_sign_in,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.intake_support import (
    INTAKE_TOKEN,
    RunningIntake,
    mail_kinds,
    pending_employer,
    serving_intake,
)

pytestmark = pytest.mark.e2e
SCREENSHOTS = screenshots_dir()


@pytest_asyncio.fixture(scope="module")
async def intake(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningIntake]:
    async with serving_intake(module_database, tmp_path_factory.mktemp("channels")) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def url(
    module_database: str, console_pool: asyncpg.Pool, intake: RunningIntake
) -> AsyncIterator[str]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    deps.intake = IntakeOperator.connect(intake.url, INTAKE_TOKEN)
    async with serve_console(deps, employers.routes(deps)) as served:
        yield served
    await deps.intake.aclose()


async def no_serious_violations(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def fits_the_width(page: Page) -> None:
    """The page does not scroll sideways (a wide table scrolls in its own region)."""
    wider = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wider, "the page is wider than the window"


async def test_an_operator_approves_a_sign_up_in_the_browser(
    url: str, intake: RunningIntake, page: Page
) -> None:
    signed_up = await pending_employer(intake.pool, "Harbour Engineering Ltd. 海港工程有限公司")
    await browser_sign_in(page, url, *OPERATOR)
    await page.goto(f"{url}/lang?to=en&next=/employers")
    await expect(page.get_by_role("heading", name="Employers", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=signed_up.credit_code)
    await expect(row.get_by_text("w***@harbour.example", exact=False)).to_be_visible()
    await no_serious_violations(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "employers.png"), full_page=True)

    await row.get_by_role("link", name=signed_up.name).click()
    await expect(page.get_by_text(signed_up.email)).to_be_visible()
    await no_serious_violations(page)
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Approved: {signed_up.name}")
    decided = page.get_by_role("row").filter(has_text=signed_up.credit_code)
    await expect(decided.get_by_text("approved", exact=True)).to_be_visible()
    await expect(decided.get_by_role("cell", name=OPERATOR[0], exact=True)).to_be_visible()
    await no_serious_violations(page)
    assert await mail_kinds(intake.pool, signed_up.id) == ["employer-approved"]

    await page.goto(f"{url}/employers/{signed_up.id}")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)


async def test_a_viewer_sees_a_sign_up_at_a_phones_width_without_the_buttons(
    url: str, intake: RunningIntake, page: Page
) -> None:
    signed_up = await pending_employer(intake.pool)
    await page.set_viewport_size({"width": 390, "height": 844})
    await browser_sign_in(page, url, *VIEWER)
    await page.goto(f"{url}/employers")
    await expect(page.get_by_role("heading", name="Employers", level=1)).to_be_visible()
    await no_serious_violations(page)
    await fits_the_width(page)
    await page.get_by_role("link", name=signed_up.name).click()
    await expect(page.get_by_text(signed_up.phone)).to_be_visible()
    await expect(page.get_by_text(re.compile("Only operators may approve"))).to_be_visible()
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    await no_serious_violations(page)
    await fits_the_width(page)
