"""The verification report: what it says (domain) and the PDF a reader gets (text, QR code,
the embedded statement verifying against the key that signed it), with no database."""

import asyncio
import io
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OKPKey
from pypdf import PdfReader

from services.intake.adapters.pdf_report import PdfReports, register_fonts
from services.intake.catalogue import EditionCatalogue
from services.intake.domain.lifecycle import Status
from services.intake.domain.report import (
    DISCLAIMER_EN,
    DISCLAIMER_ZH,
    STATEMENT_FILE,
    ReportSource,
    ReportUnavailable,
    VerificationReport,
    offline_check,
    statement_claims,
    verification_report,
)
from services.intake.settings import IntakeSettings
from services.intake.usecases.reporting import describe
from tests.intake.report_support import (
    Signed,
    attachments,
    flattened,
    pdf_text,
    qr_codes,
    signed_statement,
    without_whitespace,
)

QUALIFICATION = "acm-dc82363b"  # ACM 高级会员 / ACM Senior Member, awarded by acm
CHECK_URL = "http://127.0.0.1:8084/check"
HOLDER = "ZHANG Wei"
CERTIFICATE_NUMBER = "ACM-2024-778812"
VERIFIED_AT = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def reports() -> PdfReports:
    return PdfReports(IntakeSettings.model_fields["report_font"].default)


def authentic(signed: Signed, request_id: uuid.UUID) -> ReportSource:
    return ReportSource(request_id, Status.AUTHENTIC, str(signed.code), "tianjin", signed.statement)


def report_of(signed: Signed, request_id: uuid.UUID) -> VerificationReport:
    entry = describe(EditionCatalogue.load().current, QUALIFICATION, ["acm"])
    return verification_report(
        authentic(signed, request_id), entry, "示例有限公司 Example Ltd.", CHECK_URL, VERIFIED_AT
    )


@pytest.fixture(scope="module")
def signed() -> tuple[Signed, uuid.UUID]:
    request_id = uuid.uuid4()
    return signed_statement(request_id, QUALIFICATION, ["acm"], HOLDER, VERIFIED_AT), request_id


@pytest.fixture(scope="module")
def pdf(reports: PdfReports, signed: tuple[Signed, uuid.UUID]) -> bytes:
    return reports.render_now(report_of(*signed))


def test_the_report_says_what_the_signed_statement_and_catalogue_say(
    signed: tuple[Signed, uuid.UUID],
) -> None:
    statement, request_id = signed
    report = report_of(statement, request_id)
    assert report.code == str(statement.code)
    assert report.holder_name_masked == "Z**** W**"  # as the registry signed it
    assert report.verified_at == VERIFIED_AT
    assert (report.region.zh, report.region.en) == ("天津", "Tianjin")
    assert (report.qualification.name_zh, report.qualification.name_en) == (
        "ACM 高级会员",
        "ACM Senior Member",
    )
    assert [listed.en for listed in report.qualification.lists] == [
        "International Professional Qualification List"
    ]
    assert report.qualification.bodies == ("国际计算机协会 Association for Computing Machinery",)


def test_the_offline_check_is_published_beside_the_check_page() -> None:
    offline = offline_check("https://check.example.cn/bianmin/check", "7K3M-Q9XD-2HVR-B8TW-$")
    assert (
        offline.check_url == "https://check.example.cn/bianmin/check?code=7K3M-Q9XD-2HVR-B8TW-%24"
    )
    assert offline.jwks_url == "https://check.example.cn/.well-known/jwks.json"
    assert offline.status_list_url == "https://check.example.cn/v1/status-lists/1"


@pytest.mark.parametrize(
    "status", [Status.NOT_AUTHENTIC, Status.UNABLE_TO_VERIFY, Status.NEEDS_REVIEW, Status.VERIFYING]
)
def test_only_an_authentic_result_has_a_report(
    status: Status, signed: tuple[Signed, uuid.UUID]
) -> None:
    _, request_id = signed
    source = ReportSource(request_id, status, None, "beijing", None)
    entry = describe(EditionCatalogue.load().current, QUALIFICATION, ["acm"])
    with pytest.raises(ReportUnavailable) as refused:
        verification_report(source, entry, "Example Ltd.", CHECK_URL, VERIFIED_AT)
    assert "authentic" in refused.value.en and "真实" in refused.value.zh


def test_an_authentic_result_without_a_statement_has_no_report(
    signed: tuple[Signed, uuid.UUID],
) -> None:
    statement, request_id = signed
    source = ReportSource(request_id, Status.AUTHENTIC, str(statement.code), "beijing", None)
    entry = describe(EditionCatalogue.load().current, QUALIFICATION, ["acm"])
    with pytest.raises(ReportUnavailable) as refused:
        verification_report(source, entry, "Example Ltd.", CHECK_URL, VERIFIED_AT)
    assert "signed statement" in refused.value.en and "签名声明" in refused.value.zh


@pytest.mark.parametrize("bad", ["not-a-jws", "a.!!!.c", "a.bnVsbA.c"])
def test_a_statement_that_is_not_a_jws_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        statement_claims(bad)


def test_a_qualification_gone_from_the_catalogue_keeps_its_identifier() -> None:
    entry = describe(EditionCatalogue.load().current, "gone-0000", ["gone-body"])
    assert (entry.name_zh, entry.name_en, entry.lists, entry.bodies) == (
        "gone-0000",
        None,
        (),
        ("gone-body",),
    )


def test_the_pdf_carries_the_code_qualification_and_the_disclaimer_in_both_languages(
    pdf: bytes, signed: tuple[Signed, uuid.UUID]
) -> None:
    statement, request_id = signed
    text = pdf_text(pdf)
    assert "职业资格证书核验报告" in text and "Qualification Verification Report" in text
    assert str(statement.code) in text
    assert "ACM 高级会员" in text and "ACM Senior Member" in text
    assert "国际职业资格清单" in text
    assert "Z**** W**" in text and "示例有限公司 Example Ltd." in text
    assert "2026-03-02 14:30" in text  # verified at 06:30 UTC, printed in Beijing time
    assert str(request_id) in text
    assert without_whitespace(DISCLAIMER_ZH) in without_whitespace(text)
    assert DISCLAIMER_EN in flattened(text)
    assert "http://127.0.0.1:8084/.well-known/jwks.json" in text
    assert "http://127.0.0.1:8084/v1/status-lists/1" in text
    # The holder's name only masked; no document or certificate number was ever given to it.
    assert HOLDER not in text and CERTIFICATE_NUMBER not in text


def test_the_chinese_disclaimer_is_the_notices_text_verbatim() -> None:
    # Section 四、责任确认 of Attachment 2, as the notice prints it.
    assert DISCLAIMER_ZH == (
        "对于提供虚假材料或不实信息的,查询验证服务平台有权拒绝受理其申请。核查结果仅对证书的"
        "真实性进行确认,不对证书持有人真实资历及实际水平进行确认,如产生人事劳动关系等纠纷,"
        "查询验证服务平台不因此承担任何法律责任。"
    )


def test_the_qr_code_opens_the_public_check_of_the_code(
    pdf: bytes, signed: tuple[Signed, uuid.UUID]
) -> None:
    statement, _ = signed
    expected = offline_check(CHECK_URL, str(statement.code)).check_url
    assert qr_codes(pdf) == [expected]


def test_the_embedded_statement_is_the_registrys_and_verifies_offline(
    pdf: bytes, signed: tuple[Signed, uuid.UUID]
) -> None:
    statement, _ = signed
    embedded = attachments(pdf)
    assert list(embedded) == [STATEMENT_FILE]
    [content] = embedded[STATEMENT_FILE]
    assert content == statement.statement.encode()
    public = OKPKey.import_key(statement.key.as_dict(private=False))
    verified = jws.deserialize_compact(content, public, algorithms=["Ed25519"])
    subject = orjson.loads(verified.payload)["credentialSubject"]
    assert subject["verificationCode"] == str(statement.code)
    stranger = OKPKey.generate_key("Ed25519")
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(content, stranger, algorithms=["Ed25519"])


def test_the_statement_is_printed_in_the_appendix(
    pdf: bytes, signed: tuple[Signed, uuid.UUID]
) -> None:
    statement, _ = signed
    assert statement.statement in without_whitespace(pdf_text(pdf))


def test_the_pdf_is_a4_with_bilingual_metadata(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    assert reader.metadata is not None
    assert reader.metadata.title == "职业资格证书核验报告 / Qualification Verification Report"
    assert reader.metadata.subject is not None and "验证编码" in reader.metadata.subject
    assert "Verification code" in reader.metadata.subject


def test_a_report_renders_in_well_under_200_ms(
    reports: PdfReports, signed: tuple[Signed, uuid.UUID]
) -> None:
    """CPU time, which a busy test machine does not inflate (bench.report measures wall time)."""
    report = report_of(*signed)
    reports.render_now(report)  # the first one warms up ReportLab's caches
    took = []
    for _ in range(5):
        started = time.thread_time()
        reports.render_now(report)
        took.append(time.thread_time() - started)
    assert sorted(took)[2] < 0.1, took


async def test_rendering_runs_off_the_event_loop(
    reports: PdfReports, signed: tuple[Signed, uuid.UUID]
) -> None:
    """Other coroutines (the pages' requests) go on running while a report renders."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticking = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    before = ticks
    rendered = await reports.render(report_of(*signed))
    during = ticks - before
    ticking.cancel()
    assert rendered.startswith(b"%PDF-")
    assert during >= 3, during  # rendering on the loop itself would allow one at most


def test_a_missing_font_is_named_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="INTAKE_REPORT_FONT"):
        register_fonts(tmp_path / "no-such-font.ttc")


def test_the_sample_report_in_docs_verifies_with_the_key_beside_it() -> None:
    sample = Path("docs/employer/sample-report.pdf").read_bytes()
    keys = KeySet.import_key_set(
        orjson.loads(Path("docs/employer/sample-report.jwks.json").read_bytes())
    )
    [content] = attachments(sample)[STATEMENT_FILE]
    verified = jws.deserialize_compact(content, keys, algorithms=["Ed25519"])
    subject = orjson.loads(verified.payload)["credentialSubject"]
    assert subject["verificationCode"] in pdf_text(sample)
    assert qr_codes(sample) == [offline_check(CHECK_URL, subject["verificationCode"]).check_url]
