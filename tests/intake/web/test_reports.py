"""The report on the employer pages: any user of the employer downloads an authentic result's
PDF (audited); another employer's request is not found; a result that is not authentic gets a
clear page in both languages; a browser downloads it from the application's page."""

import asyncpg
import orjson
import pytest
from joserfc import jws
from joserfc.jwk import OKPKey
from playwright.async_api import Page, expect

from services.contracts.events import Verdict
from services.intake.domain.accounts import Role
from services.intake.domain.report import STATEMENT_FILE, offline_check
from services.intake.store.repository import RequestRecord
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, serious_axe_violations
from tests.intake.report_support import (
    Signed,
    attachments,
    pdf_text,
    qr_codes,
    signed_statement,
    submitted,
    verdict_for,
)
from tests.intake.support import consume
from tests.intake.web.support import SignedIn, browse_as, client_as, session_for

pytestmark = pytest.mark.integration

_numbers = iter(range(1, 1000))


async def authentic_request(deps: WebDeps, signed_in: SignedIn) -> tuple[RequestRecord, Signed]:
    record = await submitted(
        deps.store, deps.applying, signed_in.employer_id, f"REPORT-{next(_numbers)}"
    )
    signed = signed_statement(
        record.id, record.qualification_id, record.body_ids, "ZHANG Wei", record.accepted_at
    )
    await consume(deps.store, verdict_for(record, Verdict.AUTHENTIC, signed))
    return record, signed


async def audited(pool: asyncpg.Pool, signed_in: SignedIn) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        "SELECT action, outcome, target FROM account_audit WHERE user_id = $1 ORDER BY id",
        signed_in.user_id,
    )
    return [(row["action"], row["outcome"], row["target"]) for row in rows]


async def test_a_viewer_downloads_the_report_of_an_authentic_result(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record, signed = await authentic_request(deps, viewer)
    async with client_as(web_url, viewer) as client:
        answer = await client.get(f"/applications/{record.id}/report.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith(
        'attachment; filename="verification-report-'
    )
    assert "no-store" in answer.headers["cache-control"]
    text = pdf_text(answer.content)
    assert str(signed.code) in text
    assert "Example Ltd. 示例有限公司" in text  # the employer, as registered
    assert "AWS Certified Solutions Architect" in text
    assert record.certificate_number not in text
    check_url = offline_check(deps.settings.public_check_url, str(signed.code)).check_url
    assert qr_codes(answer.content) == [check_url]
    [embedded] = attachments(answer.content)[STATEMENT_FILE]
    assert embedded == (await deps.store.statement(viewer.employer_id, record.id) or "").encode()
    public = OKPKey.import_key(signed.key.as_dict(private=False))
    verified = jws.deserialize_compact(embedded, public, algorithms=["Ed25519"])
    claims = orjson.loads(verified.payload)
    assert claims["credentialSubject"]["verificationCode"] == str(signed.code)
    assert await audited(pool, viewer) == [("report-downloaded", "ok", str(record.id))]


async def test_another_employers_report_is_not_found(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    owner = await session_for(deps, Role.APPLICANT)
    record, _ = await authentic_request(deps, owner)
    stranger = await session_for(deps, Role.ADMIN)
    async with client_as(web_url, stranger) as client:
        answer = await client.get(f"/applications/{record.id}/report.pdf")
        malformed = await client.get("/applications/not-a-request/report.pdf")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "%PDF" not in answer.text
    assert malformed.status_code == 404
    assert await audited(pool, stranger) == [("report-downloaded", "not-found", str(record.id))]


async def test_a_result_that_is_not_authentic_has_no_report_and_says_why(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    record = await submitted(deps.store, deps.applying, admin.employer_id, "REPORT-NOT")
    await consume(deps.store, verdict_for(record, Verdict.NOT_AUTHENTIC))
    async with client_as(web_url, admin) as client:
        answer = await client.get(f"/applications/{record.id}/report.pdf")
    assert answer.status_code == 409
    assert "Only an authentic result has a verification report" in answer.text
    assert "仅真实的核验结果有核验报告" in answer.text
    assert "不真实" in answer.text and "not authentic" in answer.text
    assert await audited(pool, admin) == [("report-downloaded", "unavailable", str(record.id))]


async def test_an_authentic_result_without_a_signed_statement_says_so(
    deps: WebDeps, web_url: str
) -> None:
    """Results decided before statements reached intake have none: no report can verify."""
    viewer = await session_for(deps, Role.VIEWER)
    record = await submitted(deps.store, deps.applying, viewer.employer_id, "REPORT-OLD")
    signed = signed_statement(
        record.id, record.qualification_id, record.body_ids, "ZHANG Wei", record.accepted_at
    )
    unsigned = verdict_for(record, Verdict.AUTHENTIC, signed).model_copy(update={"statement": None})
    await consume(deps.store, unsigned)
    async with client_as(web_url, viewer) as client:
        answer = await client.get(f"/applications/{record.id}/report.pdf")
    assert answer.status_code == 409
    assert "no signed statement of the registry" in answer.text
    assert "没有登记处的签名声明" in answer.text


async def test_a_stranger_is_sent_to_sign_in(deps: WebDeps, web_url: str) -> None:
    owner = await session_for(deps, Role.VIEWER)
    record, _ = await authentic_request(deps, owner)
    async with client_as(web_url) as client:
        answer = await client.get(f"/applications/{record.id}/report.pdf")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in")


async def test_the_browser_downloads_the_report_from_the_applications_page(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    record, signed = await authentic_request(deps, applicant)
    await browse_as(page, web_url, applicant)
    await page.goto(f"{web_url}/lang?to=en&next=/applications/{record.id}")
    link = page.get_by_role("link", name="Download the report (PDF)")
    async with page.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename.startswith("verification-report-")
    path = await download.path()
    pdf = path.read_bytes()
    assert str(signed.code) in pdf_text(pdf)


async def test_the_page_of_a_result_without_a_report_is_accessible(
    deps: WebDeps, web_url: str, page: Page
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record = await submitted(deps.store, deps.applying, viewer.employer_id, "REPORT-AXE")
    await consume(deps.store, verdict_for(record, Verdict.UNABLE_TO_VERIFY))
    await browse_as(page, web_url, viewer)
    for language, heading in (("en", "No verification report"), ("zh", "该结果没有核验报告")):
        await page.goto(f"{web_url}/lang?to={language}&next=/applications/{record.id}/report.pdf")
        await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        assert not (found := await serious_axe_violations(page)), describe_violations(found)
    await page.set_viewport_size({"width": 375, "height": 740})
    await expect(page.get_by_role("alert")).to_be_visible()
