"""The Awarding bodies page in headless Chromium, with a real verifier: the bodies and their
figures, an enquiry answered through the form to the request's verdict, the audit entry it
leaves, the body's chart, and no serious accessibility violation on any of these pages."""

import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from services.console.__main__ import core_deps
from services.console.adapters.verifier import VerifierOps
from services.console.web import bodies
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.console.conftest import (
    OPERATOR,
    browser_sign_in,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.verifier_support import (
    API_BODY,
    DOWN_BODY,
    TELEPHONE_BODY,
    RunningVerifier,
    serving_verifier,
)
from tests.verifier.support import OPERATOR_TOKEN, set_faults

pytestmark = pytest.mark.e2e

SCREENSHOTS = screenshots_dir()


@pytest_asyncio.fixture(scope="module")
async def verifier(module_database: str) -> AsyncIterator[RunningVerifier]:
    async with serving_verifier(module_database) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def url(
    module_database: str, console_pool: asyncpg.Pool, verifier: RunningVerifier
) -> AsyncIterator[str]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    deps.verifier = VerifierOps.connect(verifier.url, OPERATOR_TOKEN)
    async with serve_console(deps, bodies.routes(deps)) as served:
        yield served
    await deps.verifier.aclose()


async def no_serious_violations(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def test_an_operator_answers_an_enquiry_from_the_bodies_page(
    url: str, verifier: RunningVerifier, page: Page
) -> None:
    for _ in range(3):  # the credential-API body answers: answer times to show
        await verifier.verify_by_api()
    await set_faults(verifier.simulator.base_url, DOWN_BODY, outage=True)
    await verifier.verify_by_api(DOWN_BODY)  # two failed attempts open its breaker
    reference, request_id = await verifier.park_enquiry()
    await browser_sign_in(page, url, *OPERATOR)
    await page.goto(f"{url}/lang?to=en&next=/bodies")
    await expect(page.get_by_role("heading", name="Awarding bodies", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=API_BODY, exact=True))
    await expect(row.get_by_role("img", name=re.compile("Last answer times"))).to_be_visible()
    await expect(page.get_by_text(reference)).to_be_visible()
    down = page.get_by_role("row").filter(has=page.get_by_role("link", name=DOWN_BODY, exact=True))
    await expect(down.get_by_text("open", exact=True)).to_be_visible()
    await expect(down.get_by_role("cell", name="100.0%")).to_be_visible()
    await no_serious_violations(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "bodies.png"), full_page=True)

    enquiry = page.get_by_role("row").filter(has=page.get_by_text(reference))
    await enquiry.get_by_role("link", name="Enter the answer").click()
    await expect(page.get_by_role("heading", name="Answer an enquiry")).to_be_visible()
    await no_serious_violations(page)
    await page.get_by_label("Revoked").check()
    await page.get_by_role("button", name="Record the answer").click()
    await expect(page.get_by_role("status")).to_contain_text(reference)
    await expect(page.get_by_text(reference)).to_have_count(1)  # only in the notice now
    assert await verifier.verdict_of(request_id) == "not_authentic"

    await page.goto(f"{url}/audit?target=request:{request_id}")
    trail = page.get_by_role("row").filter(has=page.get_by_role("cell", name="enquiry-answer"))
    await expect(trail).to_have_count(1)
    await expect(trail).to_contain_text("status: revoked")
    await expect(trail).to_contain_text("outcome: recorded")

    await page.goto(f"{url}/bodies/{API_BODY}")
    await expect(page.locator(".chart canvas")).to_have_count(1)  # uPlot drew it
    await no_serious_violations(page)
    await page.screenshot(path=str(SCREENSHOTS / "bodies-one.png"), full_page=True)
    await page.goto(f"{url}/lang?to=zh&next=/bodies/{TELEPHONE_BODY}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("电话委员会")
    await expect(page.get_by_text("本核验服务实例尚未收到该机构的答复")).to_have_count(0)
