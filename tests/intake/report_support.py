"""What the report tests share: a statement signed as the registry signs one (with a key the
test makes), and reading a report PDF back as its reader would (text, QR code, attachment)."""

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import orjson
import pypdfium2  # type: ignore[import-untyped]
import zxingcpp
from joserfc import jws
from joserfc.jwk import OKPKey
from pypdf import PdfReader

from services.contracts.events import LocalizedText, Verdict, VerificationConcluded
from services.intake.applying import Applying
from services.intake.store.repository import IntakeStore, RequestRecord
from services.intake.usecases.submitting import read_application, submit_application
from services.registry.domain.codes import VerificationCode, generate_code
from services.registry.domain.statements import (
    JOSE_TYPE,
    SIGNING_ALGORITHM,
    Issuer,
    verification_claims,
)
from services.registry.domain.verifications import Region, Verification
from tests.intake.support import application

ISSUER = Issuer("http://127.0.0.1:8084")


@dataclass(frozen=True)
class Signed:
    code: VerificationCode
    statement: str
    key: OKPKey  # its public half verifies the statement


def signed_statement(
    request_id: UUID,
    qualification_id: str,
    body_ids: list[str],
    holder_name: str,
    verified_at: datetime,
    region: str = "beijing",
) -> Signed:
    """A code and its statement, signed with a fresh Ed25519 key as the registry would."""
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "test-key"})
    code = generate_code()
    verification = Verification(
        request_id=request_id,
        code=code,
        qualification_id=qualification_id,
        body_ids=tuple(body_ids),
        holder_ref="hr-report-test",
        holder_name=holder_name,
        region=Region(region),
        employer_id="employer",
        verified_at=verified_at,
        created_at=verified_at,
    )
    claims = verification_claims(verification, 7, ISSUER)
    header = {"alg": SIGNING_ALGORITHM, "kid": "test-key", "typ": JOSE_TYPE}
    statement = jws.serialize_compact(
        header, orjson.dumps(claims), key, algorithms=[SIGNING_ALGORITHM]
    )
    return Signed(code, statement, key)


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flattened(text: str) -> str:
    """Text without line breaks or runs of spaces: wrapped lines read as one."""
    return re.sub(r"\s+", " ", text)


def without_whitespace(text: str) -> str:
    """Chinese has no spaces between words: wrapped Chinese reads as one without any."""
    return re.sub(r"\s+", "", text)


def qr_codes(pdf: bytes, page_index: int = 0) -> list[str]:
    """The QR codes a phone would read off the printed page."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page_index].render(scale=3).to_pil()
    finally:
        document.close()
    return [found.text for found in zxingcpp.read_barcodes(image)]


def attachments(pdf: bytes) -> dict[str, list[bytes]]:
    return dict(PdfReader(io.BytesIO(pdf)).attachments)


def verdict_for(
    record: RequestRecord, verdict: Verdict, signed: Signed | None = None
) -> VerificationConcluded:
    """The verifier's verdict on `record`; an authentic one with the code and statement."""
    return VerificationConcluded(
        request_id=record.id,
        employer_id=record.employer_id,
        region=record.region,
        qualification_id=record.qualification_id,
        holder_ref="hr-report-test",
        verdict=verdict,
        reason=LocalizedText(zh="颁发机构的答复", en="the awarding bodies' answer"),
        checks=[],
        verification_code=str(signed.code) if signed else None,
        statement=signed.statement if signed else None,
        decided_at=datetime.now(UTC),
    )


async def submitted(
    store: IntakeStore, applying: Applying, employer_id: UUID, number: str
) -> RequestRecord:
    """A request of the employer for the test qualification (ZHANG Wei's certificate)."""
    body = read_application(application(number))
    submission = await submit_application(store, applying, employer_id, body)
    return submission.record
