"""The employer site's frame: who gets in, in which language, with which headers."""

import pytest
from playwright.async_api import Page, expect

from services.intake.domain.accounts import EmployerStatus, Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, serious_axe_violations
from tests.intake.web.support import browse_as, client_as, new_employer, session_for

pytestmark = pytest.mark.integration


async def test_a_stranger_is_sent_to_sign_in(web_url: str) -> None:
    async with client_as(web_url) as client:
        answer = await client.get("/applications")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/applications"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


async def test_a_signed_in_user_sees_the_start_page_in_both_languages(
    deps: WebDeps, web_url: str
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    async with client_as(web_url, viewer) as client:
        chinese = await client.get("/", headers={"accept-language": "zh-CN"})
        client.cookies.set("qv_employer_lang", "en")
        english = await client.get("/")
    assert chinese.status_code == 200
    assert "核验申请及其状态" in chinese.text
    assert "Applications and their status" in english.text
    assert "/api-keys" not in english.text  # a viewer administers nothing


async def test_a_user_of_an_employer_awaiting_approval_is_held_back(
    deps: WebDeps, web_url: str
) -> None:
    pending = await new_employer(deps, status=EmployerStatus.PENDING)
    admin = await session_for(deps, Role.ADMIN, employer_id=pending)
    async with client_as(web_url, admin) as client:
        answer = await client.get("/applications")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/awaiting-approval"


async def test_the_start_page_in_a_browser_has_no_serious_accessibility_violation(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    await browse_as(page, web_url, admin)
    await page.goto(f"{web_url}/lang?to=en&next=/")
    await expect(page.get_by_role("link", name="Users and roles")).to_be_visible()
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
