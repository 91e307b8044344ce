"""The verification report on the whole platform (every service a process, real Kafka and
PostgreSQL, the simulator), in headless Chromium: the demo certificate is verified, its
application's page offers the report, the PDF downloaded carries the code, and the statement
embedded in it verifies offline against the registry's published keys and status list, the very
statement the registry signed; its QR code, decoded, opens the public check page of the code.
"""

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import orjson
import pytest
from itsdangerous import TimestampSigner
from joserfc import jws
from joserfc.jwk import KeySet
from playwright.async_api import Browser, expect

from deploy.local.demo import DEMO_BODY, example_request
from services.intake.admin import register_employer
from services.intake.domain.accounts import Role, SessionStage
from services.intake.domain.report import STATEMENT_FILE
from services.intake.settings import IntakeSettings
from services.intake.store.accounts import AccountStore
from services.intake.web.app import SESSION_COOKIE
from services.registry.domain.statements import status_bit
from services.runtime.db import create_pool
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import DEFAULT_TIMEOUT_MS, browser, describe_violations, serious_axe_violations
from tests.e2e.conftest import RunningPlatform
from tests.intake.report_support import attachments, pdf_text, qr_codes
from tests.intake.support import credit_code

pytestmark = pytest.mark.e2e

__all__ = ["browser"]

EMPLOYER = "报告测试有限公司 Report Test Ltd."


async def verified_demo_certificate(
    platform: RunningPlatform,
) -> tuple[UUID, dict[str, Any], str]:
    """The employer's id, its application of the demo certificate once authentic, and the
    certificate's number."""
    employer = await register_employer(
        credit_code(9_500_001), EMPLOYER, platform.platform.database_url
    )
    certificate = find(SimulatorSettings().seed, DEMO_BODY, "authentic")
    body = example_request(certificate.certificate_number, certificate.claimed_name)
    body["certificate"]["issued_on"] = certificate.issued_on.isoformat()
    headers = {"Authorization": f"Bearer {employer['api_key']}"}
    async with httpx.AsyncClient(base_url=platform.platform.intake_url, headers=headers) as api:
        accepted = (await api.post("/v1/verifications", json=body)).raise_for_status().json()
        async with asyncio.timeout(60):
            while True:
                found = (await api.get(f"/v1/verifications/{accepted['id']}")).json()
                if found["status"] not in ("accepted", "verifying"):
                    break
                await asyncio.sleep(0.2)
    assert found["status"] == "authentic", found
    return UUID(employer["employer_id"]), found, certificate.certificate_number


async def session_cookie(platform: RunningPlatform, employer_id: UUID) -> str:
    """A viewer of the employer, signed in (the sign-in itself is tests/e2e/test_employer_web's):
    the cookie intake's session middleware sets, signed with its development secret."""
    pool = await create_pool(platform.platform.database_url, "intake", max_size=2)
    try:
        accounts = AccountStore(pool)
        user_id = await accounts.add_user(
            employer_id,
            "viewer.report-e2e@example.com",
            "Report Viewer",
            Role.VIEWER,
            email_verified_at=datetime.now(UTC),
        )
        token = await accounts.open_session(user_id, SessionStage.FULL, timedelta(hours=1))
    finally:
        await pool.close()
    secret = IntakeSettings.DEVELOPMENT_SECRETS["session_secret"]
    data = base64.b64encode(json.dumps({"token": token}).encode())
    return TimestampSigner(secret).sign(data).decode()


async def test_the_report_of_the_demo_certificate_verifies_offline_and_its_qr_opens_the_check(
    platform: RunningPlatform, browser: Browser
) -> None:
    employer_id, application, number = await verified_demo_certificate(platform)
    code = application["verification_code"]
    web = platform.platform.employer_web_url
    context = await browser.new_context(locale="en-GB", accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    cookie = await session_cookie(platform, employer_id)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": web}])
    page = await context.new_page()
    try:
        await page.goto(f"{web}/lang?to=en&next=/applications/{application['id']}")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Download the report (PDF)").click()
        pdf = (await (await download_info.value).path()).read_bytes()

        text = pdf_text(pdf)
        assert code in text and EMPLOYER in text
        assert "AWS Certified Solutions Architect" in text
        assert number not in text

        public = platform.platform.public_url
        async with httpx.AsyncClient(base_url=public) as registry:
            keys = (await registry.get("/.well-known/jwks.json")).raise_for_status().json()
            status_list = (await registry.get("/v1/status-lists/1")).raise_for_status().text
            published = (await registry.get(f"/v1/codes/{code}/statement")).raise_for_status()
        [embedded] = attachments(pdf)[STATEMENT_FILE]
        assert embedded.decode() == published.text.strip()  # the registry's own statement
        key_set = KeySet.import_key_set(keys)
        claims = orjson.loads(
            jws.deserialize_compact(embedded, key_set, algorithms=["Ed25519"]).payload
        )
        assert claims["credentialSubject"]["verificationCode"] == code
        listed = orjson.loads(
            jws.deserialize_compact(status_list, key_set, algorithms=["Ed25519"]).payload
        )
        index = int(claims["credentialStatus"]["statusListIndex"])
        assert not status_bit(listed["credentialSubject"]["encodedList"], index)

        [check_url] = qr_codes(pdf)
        assert check_url.startswith(f"{public}/check?code=")
        await page.goto(check_url)
        await expect(page.locator("main")).to_contain_text(code)
        await expect(page.locator("main")).to_contain_text(
            claims["credentialSubject"]["holderNameMasked"]
        )
        assert not (found := await serious_axe_violations(page)), describe_violations(found)
    finally:
        await context.close()
