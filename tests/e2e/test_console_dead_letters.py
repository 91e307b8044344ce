"""Dead letters with the whole platform running, in headless Chromium: a correctly signed
request parked on `verification.requested.v1.dlq` as the runtime parks it is shown masked on
the console, replayed from there, and reaches its verdict through the real verifier; the
replay leaves its audit entry."""

import asyncio
import re
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Page, expect

from services.contracts.events import (
    CertificateClaim,
    HolderClaim,
    VerdictReached,
    VerificationRequested,
)
from services.contracts.topics import VERDICT_REACHED, VERIFICATION_REQUESTED, dead_letter_of
from simulator.population import find
from simulator.settings import SimulatorSettings
from tests.browser import browser, describe_violations, page, serious_axe_violations
from tests.console.conftest import browser_sign_in
from tests.console.dead_letter_support import parked_as_the_runtime_parks
from tests.e2e.conftest import ConsoleAccount, RunningPlatform
from tests.kafka_probe import find_event

pytestmark = pytest.mark.e2e

__all__ = ["browser", "page"]

DLQ = dead_letter_of(VERIFICATION_REQUESTED).name


async def test_a_parked_request_replayed_from_the_console_reaches_its_verdict(
    platform: RunningPlatform, console_account: ConsoleAccount, page: Page
) -> None:
    certificate = find(SimulatorSettings().seed, "aws", "authentic", nth=3)
    event = VerificationRequested(
        request_id=uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="hebei",
        qualification_id="aws-e94e5145",
        body_ids=["aws"],
        holder=HolderClaim(
            name=certificate.claimed_name, nationality="CHN", holder_ref="e2e-dead-letter"
        ),
        certificate=CertificateClaim(
            number=certificate.certificate_number, issued_on=certificate.issued_on
        ),
    )
    value, headers = parked_as_the_runtime_parks(event, "verifier", "0:0", "handler kept failing")
    producer = AIOKafkaProducer(bootstrap_servers=platform.platform.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(DLQ, value, key=event.key(), headers=headers)
    finally:
        await producer.stop()

    url = console_account.url
    await browser_sign_in(page, url, console_account.username, console_account.password)
    await page.goto(f"{url}/lang?to=en&next=/dead-letters?topic={DLQ}")
    row = page.locator("tr[id^='record-']", has_text=str(event.request_id))
    async with asyncio.timeout(30):
        while not await row.count():
            await asyncio.sleep(0.5)
            await page.reload()
    await row.get_by_text("Preview (masked)").click()
    preview = await row.locator("pre.preview").inner_text()
    assert certificate.certificate_number not in preview
    assert certificate.claimed_name not in preview
    assert not (found := await serious_axe_violations(page)), describe_violations(found)

    await row.get_by_role("button", name=re.compile("^Replay record")).click()
    await expect(page.get_by_role("status").filter(has_text="Replayed")).to_be_visible()
    verdict = await find_event(
        platform.platform.kafka_bootstrap_servers,
        VERDICT_REACHED.name,
        lambda e: isinstance(e, VerdictReached) and e.request_id == event.request_id,
        timeout=60,
    )
    assert isinstance(verdict, VerdictReached) and verdict.verdict == "authentic"

    await page.goto(f"{url}/audit?actor={console_account.username}")
    entry = page.get_by_role("row").filter(has_text="dead_letter.replay")
    await expect(entry.first).to_be_visible()
    await expect(entry.first).to_contain_text(DLQ)
