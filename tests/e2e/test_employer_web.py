"""The employer web platform as people use it, on the whole platform (every service a process,
real Kafka and PostgreSQL, the mail catcher, the console), driven in headless Chromium.

Employer A signs up, confirms its address from the e-mail, is held until an operator approves
it in the console, and signs in with a password and a TOTP second factor; it applies for the
demo certificate through the form and for more through a CSV file, downloads the report and
follows its QR code to the public check page; its notification settings and delivery log work.
A locked-out account stays locked; employer B sees none of A's applications; a form posted
without its CSRF token is refused. Every page visited is checked with axe-core, and the main
pages are saved as screenshots (tests/browser.py: screenshots_dir).
"""

import asyncio
import base64
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pyotp
import pytest
import pytest_asyncio
from itsdangerous import TimestampSigner
from playwright.async_api import Browser, FilePayload, Page, expect

from deploy.local.demo import DEMO_BODY, DEMO_QUALIFICATION
from services.intake.admin import register_employer
from services.intake.domain.accounts import Role, SessionStage
from services.intake.domain.report import DISCLAIMER_EN, DISCLAIMER_ZH
from services.intake.settings import IntakeSettings
from services.intake.store.accounts import AccountStore
from services.intake.web.app import SESSION_COOKIE
from services.runtime.db import create_pool
from simulator.population import SimulatedCertificate as Certificate
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import (
    DEFAULT_TIMEOUT_MS,
    browser,
    describe_violations,
    screenshots_dir,
    serious_axe_violations,
)
from tests.console.conftest import browser_sign_in
from tests.e2e.conftest import ConsoleAccount, RunningPlatform, WebhookReceiver
from tests.e2e.mail import next_mail
from tests.intake.report_support import flattened, pdf_text, qr_codes, without_whitespace
from tests.intake.support import credit_code

pytestmark = pytest.mark.e2e

__all__ = ["browser"]

PASSWORD = "a long enough passphrase 2026"
TOTP_STEP = 30
# The verifier asks the simulator (20 ms median here); the page refreshes itself meanwhile.
VERDICT_TIMEOUT_MS = 60_000
LOCKOUT_AFTER = 5  # INTAKE_LOCKOUT_AFTER's default


@dataclass
class Account:
    email: str
    password: str
    organisation: str
    totp_secret: str = ""
    used_steps: set[int] = field(default_factory=set)
    # The signed-in browser's cookies, kept as a person keeps their browser open.
    browser_state: Any = None

    async def fresh_code(self) -> str:
        """A code the platform has not taken yet: it takes each time step once and accepts
        one step either side of now, so a second sign-in within 30 s gives the next step's."""
        totp = pyotp.TOTP(self.totp_secret)
        while True:
            current = int(time.time()) // TOTP_STEP
            for step in (current, current + 1):
                if step > max(self.used_steps, default=0):
                    self.used_steps.add(step)
                    return totp.generate_otp(step)
            await asyncio.sleep(1)


async def axe_clean(page: Page) -> None:
    assert not (found := await serious_axe_violations(page)), describe_violations(found)


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=screenshots_dir() / name, full_page=True)


@contextlib.asynccontextmanager
async def fresh_page(browser: Browser, signed_in: Account | None = None) -> AsyncIterator[Page]:
    """A browser of its own; `signed_in`: the one that account signed in with."""
    context = await browser.new_context(
        locale="en-GB",
        viewport={"width": 1280, "height": 900},
        storage_state=signed_in.browser_state if signed_in else None,
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = await context.new_page()
        yield page
    finally:
        await context.close()


def web(platform: RunningPlatform) -> str:
    return platform.platform.employer_web_url


async def in_english(page: Page, platform: RunningPlatform, path: str) -> None:
    await page.goto(f"{web(platform)}/lang?to=en&next={path}")


async def sign_up(page: Page, platform: RunningPlatform, account: Account, serial: int) -> None:
    await in_english(page, platform, "/sign-up")
    await page.get_by_label("Organisation's name").fill(account.organisation)
    await page.get_by_label("Unified social credit code").fill(credit_code(serial))
    await page.get_by_label("Name", exact=True).fill("Li Hua")
    await page.get_by_label("E-mail address").fill(account.email)
    await page.get_by_label("Phone").fill("+86 138 0013 8000")
    await page.get_by_label("Password", exact=True).fill(account.password)
    await page.get_by_label("Password again").fill(account.password)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()


async def give_password(page: Page, platform: RunningPlatform, account: Account) -> None:
    await in_english(page, platform, "/sign-in")
    await page.get_by_label("E-mail address").fill(account.email)
    await page.get_by_label("Password").fill(account.password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_in(page: Page, platform: RunningPlatform, account: Account) -> None:
    """Password, then the authenticator's code: the start page."""
    await give_password(page, platform, account)
    await expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    await expect(page.locator("#totp-secret")).to_have_count(0)  # enrolled once, not again
    await page.get_by_label("6-digit code").fill(await account.fresh_code())
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("heading", name=account.organisation)).to_be_visible()
    account.browser_state = await page.context.storage_state()


async def approve_in_console(
    browser: Browser, console: ConsoleAccount, organisation: str, screenshot_name: str = ""
) -> None:
    """An operator, in their own browser, approves the sign-up on the console's Employers page."""
    async with fresh_page(browser) as page:
        await browser_sign_in(page, console.url, console.username, console.password)
        await page.goto(f"{console.url}/lang?to=en&next=/employers")
        waiting = page.get_by_role("link", name=organisation)
        await expect(waiting).to_be_visible()
        await axe_clean(page)
        if screenshot_name:
            await screenshot(page, screenshot_name)
        await waiting.click()
        await page.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("status")).to_contain_text(f"Approved: {organisation}")
        await axe_clean(page)


async def signed_up_and_approved(
    browser: Browser,
    platform: RunningPlatform,
    console: ConsoleAccount,
    account: Account,
    serial: int,
) -> None:
    """Sign-up → the e-mail's link → signed in but held (second factor enrolled meanwhile) →
    approved → the approval e-mail → signed in to the start page."""
    async with fresh_page(browser) as page:
        await sign_up(page, platform, account, serial)
        await axe_clean(page)
        verification = await next_mail(platform, account.email, "Verify your e-mail address")
        assert account.organisation in verification.body
        await page.goto(verification.link_to(web(platform)))
        await expect(
            page.get_by_role("heading", name="Your e-mail address is confirmed")
        ).to_be_visible()
        await axe_clean(page)

        await give_password(page, platform, account)
        await expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
        account.totp_secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
        await axe_clean(page)
        await screenshot(page, "employer-second-factor.png")
        await page.get_by_label("6-digit code").fill(await account.fresh_code())
        await page.get_by_role("button", name="Confirm").click()
        await expect(page).to_have_url(re.compile(r"/awaiting-approval$"))
        await expect(page.get_by_role("status")).to_contain_text("awaits an operator's approval")
        await axe_clean(page)
        await page.goto(f"{web(platform)}/applications")  # held: nothing else opens
        await expect(page).to_have_url(re.compile(r"/awaiting-approval$"))

        await approve_in_console(browser, console, account.organisation, "console-employers.png")
        approval = await next_mail(platform, account.email, "Your organisation has been approved")
        assert account.organisation in approval.body
        await page.get_by_role("button", name="Sign out").click()
        await sign_in(page, platform, account)
        await axe_clean(page)


@pytest_asyncio.fixture(scope="module")
async def employer_a(
    browser: Browser, platform: RunningPlatform, console_account: ConsoleAccount
) -> Account:
    """Employer A, signed up through the pages as scenario 1 describes."""
    account = Account("hr@employer-a.example.cn", PASSWORD, "Employer A Ltd. 甲公司")
    async with fresh_page(browser) as page:
        await in_english(page, platform, "/sign-up")
        await axe_clean(page)
        await screenshot(page, "employer-sign-up.png")
    await signed_up_and_approved(browser, platform, console_account, account, 9101)
    return account


async def test_sign_up_email_link_approval_and_sign_in_with_totp(
    browser: Browser, platform: RunningPlatform, employer_a: Account
) -> None:
    """The fixture went through it all (asserting each step); the session it ended with opens
    the employer's pages, the administrator's sections among them."""
    async with fresh_page(browser, employer_a) as page:
        await in_english(page, platform, "/")
        await expect(page.get_by_role("heading", name=employer_a.organisation)).to_be_visible()
        sections = page.get_by_role("navigation", name="Sections")
        for section in ("Applications", "Apply", "Notifications", "API keys", "Users"):
            await expect(sections.get_by_role("link", name=section, exact=True)).to_be_visible()
        await axe_clean(page)
    async with fresh_page(browser) as page:  # the sign-in form as a stranger first sees it
        await in_english(page, platform, "/sign-in")
        await axe_clean(page)


async def test_a_locked_out_account_stays_locked_even_with_the_right_password(
    browser: Browser, platform: RunningPlatform
) -> None:
    account = Account("hr@locked.example.cn", PASSWORD, "Locked Ltd. 锁定公司")
    async with fresh_page(browser) as page:
        await sign_up(page, platform, account, 9103)
        wrong = Account(account.email, "not the password at all", account.organisation)
        for _ in range(LOCKOUT_AFTER - 1):
            await give_password(page, platform, wrong)
            await expect(page.locator("#sign-in-error")).to_have_text(
                "The e-mail address or the password is wrong."
            )
        await give_password(page, platform, wrong)
        locked = page.locator("#sign-in-error")
        await expect(locked).to_contain_text("Too many failed attempts")
        await axe_clean(page)
        await give_password(page, platform, account)  # the right one, while locked
        await expect(locked).to_contain_text("this account is locked until")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_forms_posted_without_their_csrf_token_are_refused(
    browser: Browser, platform: RunningPlatform, employer_a: Account
) -> None:
    hook = "http://127.0.0.1:9/hooks/forged"
    async with fresh_page(browser, employer_a) as page:
        # What a page of another site could make the signed-in browser send: the cookies go
        # along, the form's token cannot.
        requests = page.context.request
        target = f"{web(platform)}/webhooks/endpoints"
        without = await requests.post(target, form={"url": hook}, max_redirects=0)
        forged = await requests.post(
            target, form={"url": hook, "csrftoken": "forged-token"}, max_redirects=0
        )
        sign_in_form = await requests.post(
            f"{web(platform)}/sign-in",
            form={"email": employer_a.email, "password": employer_a.password},
            max_redirects=0,
        )
        assert (without.status, forged.status, sign_in_form.status) == (403, 403, 403)
        await in_english(page, platform, "/webhooks")
        await expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
        await expect(page.get_by_text(hook)).to_have_count(0)
        await axe_clean(page)


@dataclass(frozen=True)
class Applied:
    url: str  # the application's page
    certificate: Certificate
    code: str


def authentic_certificate(nth: int) -> Certificate:
    """A certificate the simulator holds as authentic (nth: another one each time)."""
    return find(SimulatorSettings().seed, DEMO_BODY, "authentic", nth=nth)


async def notified_by_email(page: Page, platform: RunningPlatform, address: str) -> None:
    """The admin has the outcomes e-mailed, and waits until the notifier has the address."""
    await in_english(page, platform, "/webhooks")
    await page.get_by_label("Address 1").fill(address)
    await page.get_by_role("button", name="Save addresses").click()
    await expect(page.get_by_role("status")).to_contain_text("E-mail recipients saved")
    async with asyncio.timeout(30):  # intake → Kafka → notifier; the page asks the notifier
        while await page.get_by_label("Address 1").input_value() != address:
            await asyncio.sleep(0.5)
            await page.reload()


async def fill_application(page: Page, certificate: Certificate) -> None:
    await page.get_by_label("Search the catalogue").press_sequentially("solutions architect")
    choice = page.locator(f'#matches a[href*="qualification_id={DEMO_QUALIFICATION}"]')
    await choice.click()
    await expect(page.locator("#body-aws")).to_be_checked()
    await page.get_by_label("Name as on the certificate").fill(certificate.claimed_name)
    await page.get_by_label("Nationality").fill("CHN")
    await page.get_by_label("Identity document").select_option("passport")
    await page.get_by_label("Document number").fill("E12345678")
    await page.get_by_label("Certificate number").fill(certificate.certificate_number)
    await page.get_by_label("Date of issue").fill(certificate.issued_on.isoformat())
    await page.get_by_label("Where the employment is").select_option("beijing")
    await page.get_by_label("The holder consents to this verification").check()


async def decided_authentic(page: Page) -> str:
    """Waits on the application's page, which refreshes itself, for the verdict; its code."""
    application = page.locator("#application")
    await expect(application).to_contain_text("Authentic", timeout=VERDICT_TIMEOUT_MS)
    return (await application.locator("code.code").inner_text()).strip()


@pytest_asyncio.fixture(scope="module")
async def authentic_application(
    browser: Browser, platform: RunningPlatform, employer_a: Account
) -> Applied:
    """Employer A's admin has the outcomes e-mailed, then applies for the demo certificate
    through /apply: search, pick, check, submit, follow until authentic."""
    certificate = authentic_certificate(0)
    async with fresh_page(browser, employer_a) as page:
        await notified_by_email(page, platform, employer_a.email)
        await in_english(page, platform, "/apply")
        await axe_clean(page)
        await fill_application(page, certificate)
        await page.get_by_role("button", name="Check").click()
        await expect(page.locator("#dry-run")).to_contain_text("The form is in order")
        await expect(page.locator("#dry-run")).to_contain_text("Expected completion")
        await axe_clean(page)
        await screenshot(page, "employer-apply.png")
        await page.get_by_role("button", name="Submit").click()
        await expect(page.get_by_role("heading", name="Application submitted")).to_be_visible()
        await expect(page.locator(".eta")).to_contain_text("Expected completion")
        await axe_clean(page)
        await page.get_by_role("link", name="Follow this application").click()
        code = await decided_authentic(page)
        await axe_clean(page)
        await screenshot(page, "employer-application.png")
        return Applied(page.url, certificate, code)


async def test_one_application_through_the_form_reaches_authentic_in_the_list(
    browser: Browser, platform: RunningPlatform, employer_a: Account, authentic_application: Applied
) -> None:
    number = authentic_application.certificate.certificate_number
    async with fresh_page(browser, employer_a) as page:
        await in_english(page, platform, "/applications")
        row = page.locator("#rows tr", has_text=number)
        await expect(row).to_contain_text("Authentic")
        await axe_clean(page)
        await screenshot(page, "employer-applications.png")
        await row.get_by_role("link").click()
        await expect(page.locator("#application code.code")).to_have_text(
            authentic_application.code
        )


async def test_the_report_carries_code_and_disclaimer_and_its_qr_opens_the_check_page(
    browser: Browser, platform: RunningPlatform, employer_a: Account, authentic_application: Applied
) -> None:
    code = authentic_application.code
    async with fresh_page(browser, employer_a) as page:
        await page.goto(authentic_application.url)
        async with page.expect_download() as download:
            await page.get_by_role("link", name="Download the report (PDF)").click()
        pdf = (await (await download.value).path()).read_bytes()

        text = pdf_text(pdf)
        assert code in text
        assert "AWS Certified Solutions Architect" in text
        assert DISCLAIMER_EN in flattened(text)
        assert without_whitespace(DISCLAIMER_ZH) in without_whitespace(text)
        assert authentic_application.certificate.certificate_number not in text

        [check_url] = qr_codes(pdf)
        assert check_url.startswith(f"{platform.platform.public_url}/check?code=")
        await page.goto(check_url)  # as a phone that scanned the printed report
        result = page.get_by_role("status")
        await expect(result).to_contain_text("Valid: the certificate was verified as authentic")
        await expect(result).to_contain_text(code)
        await axe_clean(page)
        await screenshot(page, "public-check-valid.png")


async def test_one_csv_batch_through_upload_to_its_results(
    browser: Browser, platform: RunningPlatform, employer_a: Account
) -> None:
    certificate = authentic_certificate(1)
    rows = (
        "qualification_id,region,holder_name,nationality,document_type,document_number,"
        "certificate_number,issued_on,consent\n"
        f"{DEMO_QUALIFICATION},beijing,{certificate.claimed_name},CHN,passport,E23456789,"
        f"{certificate.certificate_number},{certificate.issued_on.isoformat()},true\n"
        "no-such-qualification,beijing,WANG Fang,CHN,passport,E34567890,X-1,2024-01-15,true\n"
    )
    async with fresh_page(browser, employer_a) as page:
        await in_english(page, platform, "/upload")
        await axe_clean(page)
        hires: FilePayload = {"name": "hires.csv", "mimeType": "text/csv", "buffer": rows.encode()}
        await page.get_by_label("CSV file").set_input_files(files=[hires])
        await page.get_by_role("button", name="Submit").click()
        results = page.locator("#results")
        await expect(results).to_contain_text("The batch was submitted")
        await expect(page.locator("#result-row-1")).to_contain_text("Accepted")
        refused = page.locator("#result-row-2")
        await expect(refused).to_contain_text("Refused")
        await expect(refused).to_contain_text("qualification_id")
        await axe_clean(page)
        await screenshot(page, "employer-upload-results.png")
        await page.locator("#result-row-1").get_by_role("link", name="Follow it").click()
        await decided_authentic(page)
        await axe_clean(page)


async def signed_in_browser_of_new_employer(platform: RunningPlatform, name: str) -> Account:
    """Employer B: registered by the admin CLI, its viewer signed in (the sign-up itself is
    employer A's fixture); the session cookie is the one intake's middleware would set."""
    database = platform.platform.database_url
    employer = await register_employer(credit_code(9104), name, database)
    pool = await create_pool(database, "intake", max_size=2)
    try:
        accounts = AccountStore(pool)
        user_id = await accounts.add_user(
            UUID(employer["employer_id"]),
            "viewer@employer-b.example.cn",
            "B Viewer",
            Role.VIEWER,
            email_verified_at=datetime.now(UTC),
        )
        token = await accounts.open_session(user_id, SessionStage.FULL, timedelta(hours=1))
    finally:
        await pool.close()
    secret = IntakeSettings.DEVELOPMENT_SECRETS["session_secret"]
    cookie = TimestampSigner(secret).sign(base64.b64encode(json.dumps({"token": token}).encode()))
    web_url = platform.platform.employer_web_url
    state = {"cookies": [{"name": SESSION_COOKIE, "value": cookie.decode(), "url": web_url}]}
    return Account("viewer@employer-b.example.cn", "", name, browser_state=state)


async def test_employer_b_never_sees_employer_a_applications(
    browser: Browser, platform: RunningPlatform, authentic_application: Applied
) -> None:
    employer_b = await signed_in_browser_of_new_employer(platform, "Employer B Ltd. 乙公司")
    number = authentic_application.certificate.certificate_number
    async with fresh_page(browser, employer_b) as page:
        await in_english(page, platform, "/applications")
        await expect(page.locator("#rows")).to_contain_text("No application yet.")
        await expect(page.get_by_text(number)).to_have_count(0)
        await axe_clean(page)
        for url in (authentic_application.url, authentic_application.url + "/report.pdf"):
            answer = await page.goto(url)
            assert answer is not None and answer.status == 404, url
            await expect(page.get_by_role("alert")).to_have_text("Not found.")
            await expect(page.get_by_text(number)).to_have_count(0)
            await axe_clean(page)


async def test_notification_settings_and_the_delivery_log_with_replay(
    browser: Browser,
    platform: RunningPlatform,
    employer_a: Account,
    authentic_application: Applied,
    webhook_receiver: WebhookReceiver,
) -> None:
    request_id = authentic_application.url.rsplit("/", 1)[-1]
    async with fresh_page(browser, employer_a) as page:
        # The outcome was e-mailed (the address set before applying): the notifier's log.
        await in_english(page, platform, "/webhooks")
        await page.get_by_label("Request id").fill(request_id)
        await page.get_by_role("button", name="Filter").click()
        delivered = page.locator("#deliveries tbody tr", has_text="verification.completed")
        async with asyncio.timeout(30):  # sent over SMTP to the mail catcher meanwhile
            while "delivered" not in await delivered.inner_text():
                await asyncio.sleep(0.5)
                await page.reload()
        await delivered.get_by_role("button", name=re.compile("^Replay delivery")).click()
        await expect(page.locator(".webhooks-notice")).to_contain_text("queued to be sent again")

        await page.get_by_label("Endpoint 1").fill("https://169.254.169.254/latest/meta-data")
        await page.get_by_role("button", name="Save endpoints").click()
        await expect(page.locator("#url-0-error")).to_be_visible()
        await axe_clean(page)
        await page.get_by_label("Endpoint 1").fill(webhook_receiver.url)
        await page.get_by_role("button", name="Save endpoints").click()
        await expect(page.locator(".webhooks-notice")).to_contain_text("Webhook endpoints saved")
        await page.get_by_role("button", name="Show signing secret").click()
        await expect(page.locator(".webhooks-secret")).to_contain_text("whsec_")
        await axe_clean(page)
        await screenshot(page, "employer-webhooks.png")
