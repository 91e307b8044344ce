"""Accounts in a browser: signing up, confirming the address, signing in with the second factor
enrolled from the page, and the users and API keys pages; axe-core on each, at a phone's width
too."""

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from playwright.async_api import Page, ViewportSize, expect

from services.contracts.events import AccountMail
from services.intake.domain.accounts import EmployerStatus, Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, serious_axe_violations
from tests.intake.web.account_mail import last_link
from tests.intake.web.support import browse_as, client_as, new_employer, post_form, session_for
from tests.intake.web.test_accounts import PASSWORD, sign_up_form, signed_up

pytestmark = pytest.mark.integration

PHONE: ViewportSize = {"width": 375, "height": 800}
# What reaches past the viewport's right edge, to say what overflows.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(-5).map(e => e.tagName + '.' + e.className)"""


async def assert_accessible(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def assert_fits(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    wide = await page.evaluate(WIDEST)
    assert width <= PHONE["width"] + 1, f"the page is {width}px wide on a phone: {wide}"


async def test_sign_up_confirm_and_sign_in_with_totp_in_a_browser(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    form = sign_up_form()
    await page.set_viewport_size(PHONE)
    await page.goto(f"{web_url}/lang?to=en&next=/sign-up")
    await assert_accessible(page)
    await assert_fits(page)
    await page.get_by_label("Organisation's name").fill(form["organisation"])
    await page.get_by_label("Unified social credit code").fill("91110108MA0123456X")
    await page.get_by_label("Name", exact=True).fill(form["contact_name"])
    await page.get_by_label("E-mail address").fill(form["email"])
    await page.get_by_label("Phone").fill(form["phone"])
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_text("not a valid unified social credit code")).to_be_visible()
    await expect(page.get_by_label("E-mail address")).to_have_value(form["email"])
    await assert_accessible(page)  # the refusals too

    await page.get_by_label("Unified social credit code").fill(form["credit_code"])
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Password again").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    await assert_accessible(page)

    link = urlsplit(await last_link(deps, form["email"], AccountMail.VERIFY_EMAIL)).path
    await page.goto(f"{web_url}{link}")
    await expect(page.get_by_text("awaits an operator's approval")).to_be_visible()
    await assert_accessible(page)
    await deps.store._pool.execute(
        "UPDATE employers SET status = 'active' WHERE credit_code = $1", form["credit_code"]
    )

    await page.get_by_role("link", name="Sign in").first.click()
    await assert_accessible(page)
    await page.get_by_label("E-mail address").fill(form["email"])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    await expect(page.get_by_role("img", name="QR code")).to_be_visible()
    await assert_accessible(page)
    await assert_fits(page)
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    await page.get_by_label("6-digit code").fill(
        "999999" if pyotp.TOTP(secret).now() != "999999" else "111111"
    )
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_text("This code is wrong")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("heading", name=form["organisation"])).to_be_visible()


async def test_the_users_and_api_keys_pages_in_a_browser(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    await session_for(deps, Role.VIEWER, employer_id=admin.employer_id)
    await browse_as(page, web_url, admin)
    await page.set_viewport_size(PHONE)
    await page.goto(f"{web_url}/lang?to=en&next=/users")
    await expect(page.get_by_role("heading", name="Users and roles")).to_be_visible()
    await assert_accessible(page)
    await assert_fits(page)
    await page.get_by_label("E-mail address").fill("new.colleague@acme.example.com")
    await page.get_by_label("Name", exact=True).fill("Zhao Min")
    await page.get_by_label("Role", exact=True).select_option("applicant")
    await page.get_by_role("button", name="Invite").click()
    await expect(page.get_by_text("The invitation is sent.")).to_be_visible()
    await expect(page.get_by_role("cell", name="Zhao Min", exact=True)).to_be_visible()
    await assert_accessible(page)

    await page.goto(f"{web_url}/api-keys")
    await assert_accessible(page)
    await page.get_by_label("Name").fill("HR system")
    await page.get_by_role("button", name="Create").click()
    key = page.get_by_label("Key", exact=True)
    await expect(key).to_have_value(re.compile(r"qv_\w+_.+"))
    await expect(page.get_by_text("shown only this once")).to_be_visible()
    await assert_accessible(page)
    await assert_fits(page)
    await page.get_by_role("button", name=re.compile("^Revoke HR system")).click()
    await expect(page.get_by_text("The key is revoked")).to_be_visible()
    await assert_accessible(page)


async def test_reset_link_and_refusal_pages_in_a_browser(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    form = await signed_up(deps, web_url)
    await page.goto(f"{web_url}/lang?to=en&next=/reset-password")
    await assert_accessible(page)
    await page.get_by_label("E-mail address").fill(form["email"])
    await page.get_by_role("button", name="Send the link").click()
    await expect(page.get_by_text("a link to set a new password is on its way")).to_be_visible()
    await assert_accessible(page)

    link = urlsplit(await last_link(deps, form["email"], AccountMail.PASSWORD_RESET)).path
    await page.goto(f"{web_url}{link}")
    await assert_accessible(page)
    await page.get_by_label("Password", exact=True).fill("short")
    await page.get_by_label("Password again").fill("short")
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.get_by_text("A password has at least 12 characters")).to_be_visible()
    await assert_accessible(page)
    await page.get_by_label("Password", exact=True).fill("another long passphrase")
    await page.get_by_label("Password again").fill("another long passphrase")
    await page.get_by_role("button", name="Set the password").click()
    await expect(page.get_by_text("Your password is set")).to_be_visible()
    await assert_accessible(page)

    await page.goto(f"{web_url}{link}")
    await expect(page.get_by_text("It was already used")).to_be_visible()
    await assert_accessible(page)
    await page.goto(f"{web_url}/verify-email/not-a-link-we-sent")
    await expect(page.get_by_role("button", name="Send the link again")).to_be_visible()
    await assert_accessible(page)

    await page.goto(f"{web_url}/sign-in")
    for _ in range(deps.settings.lockout_after):
        await page.get_by_label("E-mail address").fill(form["email"])
        await page.get_by_label("Password").fill("wrong password")
        await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("this account is locked until")).to_be_visible()
    await assert_accessible(page)


async def test_the_invitation_and_awaiting_approval_pages_in_a_browser(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    email = f"invited.{admin.user_id.hex[:8]}@acme.example.com"
    async with client_as(web_url, admin) as client:
        invited = await post_form(
            client, "/users", "/users/invite", {"email": email, "name": "Sun Li", "role": "viewer"}
        )
        assert invited.status_code == 303
    link = urlsplit(await last_link(deps, email, AccountMail.INVITATION)).path
    await page.goto(f"{web_url}/lang?to=en&next={link}")
    await expect(page.get_by_role("heading", name="Welcome: set your password")).to_be_visible()
    await assert_accessible(page)

    pending = await new_employer(deps, status=EmployerStatus.PENDING)
    waiting = await session_for(deps, Role.ADMIN, employer_id=pending)
    await browse_as(page, web_url, waiting)
    await page.goto(f"{web_url}/applications")
    await expect(page.get_by_text("awaits an operator's approval")).to_be_visible()
    await assert_accessible(page)
