"""Following applications from the employer pages: the filtered list in pages, the live rows,
one application's history and verdict, and employers kept apart."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Stage,
    Verdict,
    VerificationConcluded,
    VerificationProgressed,
)
from services.intake.domain.accounts import Role
from services.intake.store.repository import RequestRecord
from services.intake.usecases.submitting import read_application, submit_application
from services.intake.web.deps import WebDeps
from tests.intake.support import JOINT_QUALIFICATION, application, consume
from tests.intake.web.support import client_as, session_for

pytestmark = pytest.mark.integration

CODE = "0EEN-2D2S-MS4A-PSD0-*"


async def applied(
    deps: WebDeps, employer_id: UUID, number: str, **changes: object
) -> RequestRecord:
    body = read_application(application(number, **changes))
    submission = await submit_application(deps.store, deps.applying, employer_id, body)
    return submission.record


def verdict(record: RequestRecord, outcome: Verdict = Verdict.AUTHENTIC) -> VerificationConcluded:
    authentic = outcome is Verdict.AUTHENTIC
    return VerificationConcluded(
        request_id=record.id,
        employer_id=record.employer_id,
        region="beijing",
        qualification_id=record.qualification_id,
        holder_ref="ref",
        verdict=outcome,
        reason=LocalizedText(zh="所有颁发机构均确认证书真实有效", en="Every body confirmed it")
        if authentic
        else LocalizedText(zh="颁发机构未查到该证书", en="No record of the certificate"),
        checks=[
            CheckResult(
                body_id="aws",
                check="record",
                outcome=CheckOutcome.PASSED if authentic else CheckOutcome.FAILED,
                reason="confirmed via credential_api" if authentic else "not_found: no such id",
            ),
            CheckResult(
                body_id="aws",
                check="name",
                outcome=CheckOutcome.PASSED,
                reason="same name up to case, diacritics and word order",
            ),
        ],
        verification_code=CODE if authentic else None,
        decided_at=datetime.now(UTC),
    )


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="row-([0-9a-f-]{36})"', html)


async def test_the_list_shows_the_employers_applications_newest_first_and_filters_them(
    deps: WebDeps, web_url: str
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    first = await applied(deps, viewer.employer_id, "LIST-1")
    second = await applied(deps, viewer.employer_id, "LIST-2", region="hebei")
    joint = await applied(deps, viewer.employer_id, "LIST-3", qualification_id=JOINT_QUALIFICATION)
    await consume(deps.store, verdict(first))
    today = datetime.now(UTC).date()
    async with client_as(web_url, viewer) as client:
        client.cookies.set("qv_employer_lang", "en")
        everything = await client.get("/applications")
        authentic = await client.get("/applications", params={"status": "authentic"})
        hebei = await client.get("/applications", params={"region": "hebei"})
        by_qualification = await client.get(
            "/applications", params={"qualification_id": JOINT_QUALIFICATION}
        )
        by_number = await client.get("/applications", params={"certificate_number": "LIST-2"})
        today_only = await client.get(
            "/applications",
            params={"accepted_from": today.isoformat(), "accepted_to": today.isoformat()},
        )
        before = await client.get(
            "/applications", params={"accepted_to": (today - timedelta(days=1)).isoformat()}
        )
        bad = await client.get(
            "/applications", params={"status": "lost", "accepted_from": "yesterday"}
        )
    assert everything.status_code == 200
    assert row_ids(everything.text) == [str(joint.id), str(second.id), str(first.id)]
    assert row_ids(authentic.text) == [str(first.id)]
    assert row_ids(hebei.text) == [str(second.id)]
    assert row_ids(by_qualification.text) == [str(joint.id)]
    assert row_ids(by_number.text) == [str(second.id)]
    assert len(row_ids(today_only.text)) == 3
    assert row_ids(before.text) == []
    assert "No application matches these filters." in before.text
    assert bad.status_code == 200
    assert 'id="f-status-error"' in bad.text and 'id="f-accepted_from-error"' in bad.text
    assert row_ids(bad.text) == []


async def test_the_list_pages_with_the_apis_cursor(deps: WebDeps, web_url: str) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    made = [await applied(deps, viewer.employer_id, f"PAGE-{n}") for n in range(27)]
    seen: list[str] = []
    async with client_as(web_url, viewer) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await client.get("/applications")
        seen += row_ids(answer.text)
        following = re.search(r'href="/applications\?(cursor=[^"]+)">Next page', answer.text)
        assert following is not None
        answer = await client.get(f"/applications?{following.group(1).replace('&amp;', '&')}")
        seen += row_ids(answer.text)
        assert "Next page" not in answer.text and "First page" in answer.text
        stale = await client.get("/applications", params={"cursor": "not-a-cursor"})
    assert seen == [str(r.id) for r in reversed(made)]
    assert "The page link is out of date" in stale.text


async def test_the_rows_poll_while_in_flight_and_stop_once_decided(
    deps: WebDeps, web_url: str
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record = await applied(deps, viewer.employer_id, "LIVE-1")
    async with client_as(web_url, viewer) as client:
        client.cookies.set("qv_employer_lang", "en")
        in_flight = await client.get("/applications/rows", headers={"hx-request": "true"})
        progressed = VerificationProgressed(
            request_id=record.id, employer_id=record.employer_id, stage=Stage.PARKED
        )
        await consume(deps.store, progressed)
        parked = await client.get("/applications/rows")
        await consume(deps.store, verdict(record))
        decided = await client.get("/applications/rows")
    assert 'hx-trigger="every 3s"' in in_flight.text and "Accepted" in in_flight.text
    assert "Verifying" in parked.text and "enquiry sent" in parked.text
    assert "Authentic" in decided.text
    assert "hx-trigger" not in decided.text  # nothing in flight: the polling stops


async def test_the_detail_shows_history_checks_code_and_report_after_a_verdict(
    deps: WebDeps, web_url: str
) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    record = await applied(deps, viewer.employer_id, "DETAIL-1")
    refused = await applied(deps, viewer.employer_id, "DETAIL-2")
    async with client_as(web_url, viewer) as client:
        client.cookies.set("qv_employer_lang", "en")
        waiting = await client.get(f"/applications/{record.id}")
        await consume(deps.store, verdict(record), verdict(refused, Verdict.NOT_AUTHENTIC))
        decided = await client.get(f"/applications/{record.id}")
        not_authentic = await client.get(f"/applications/{refused.id}")
        client.cookies.set("qv_employer_lang", "zh")
        chinese = await client.get(f"/applications/{record.id}")
    assert waiting.status_code == 200
    assert "Expected completion" in waiting.text
    assert f'hx-get="/applications/{record.id}/live"' in waiting.text
    assert "report.pdf" not in waiting.text
    text = decided.text
    assert "Authentic" in text and CODE in text
    assert f"{deps.settings.public_check_url}?code=0EEN-2D2S-MS4A-PSD0-%2A" in text
    assert f'href="/applications/{record.id}/report.pdf"' in text
    assert "hx-trigger" not in text
    # Each check in both languages: body, check, outcome, reason.
    assert "经证书查询接口确认" in text and "confirmed via credential_api" in text
    assert "姓名一致（不计大小写、变音符号与词序）" in text
    assert "The body&#39;s record" in text and "Passed" in text
    assert text.count('<td class="kv">') == 2  # history: accepted, authentic
    assert "11010519491231002X" not in text  # the document number is never shown back
    assert "颁发机构未查到该证书：no such id" in not_authentic.text
    assert "No record of the certificate" in not_authentic.text
    assert "report.pdf" not in not_authentic.text
    assert "颁发机构记录" in chinese.text and "通过" in chinese.text


async def test_another_employers_application_is_as_unknown_as_a_missing_one(
    deps: WebDeps, web_url: str
) -> None:
    a = await session_for(deps, Role.ADMIN)
    b = await session_for(deps, Role.ADMIN)
    record = await applied(deps, a.employer_id, "ISOLATED-1")
    async with client_as(web_url, b) as client:
        client.cookies.set("qv_employer_lang", "en")
        theirs = await client.get(f"/applications/{record.id}")
        live = await client.get(f"/applications/{record.id}/live")
        missing = await client.get(f"/applications/{uuid4()}")
        not_an_id = await client.get("/applications/not-an-id")
        listing = await client.get("/applications")
        by_number = await client.get("/applications", params={"certificate_number": "ISOLATED-1"})
    assert theirs.status_code == live.status_code == missing.status_code == 404
    assert theirs.text.replace(str(record.id), "ID") == re.sub(
        r"/applications/[0-9a-f-]{36}", "/applications/ID", missing.text
    )
    assert not_an_id.status_code == 404
    assert str(record.id) not in listing.text and "ISOLATED-1" not in listing.text
    assert row_ids(by_number.text) == []
    assert row_ids(listing.text) == []
