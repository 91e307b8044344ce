"""The verification report of an authentic result: what it says, from the employer's request,
the catalogue and the registry's signed statement. Pure: no I/O, no rendering.

The holder appears only by the masked name the registry signed (as the public check shows it),
never by a document or certificate number.
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from uuid import UUID

import orjson

from services.intake.domain.lifecycle import Status

TITLE_ZH = "职业资格证书核验报告"
TITLE_EN = "Qualification Verification Report"
STATEMENT_FILE = "verification-statement.jwt"

# Section 四、责任确认 of Attachment 2 of the notice (京人社事业发〔2025〕11号), verbatim.
DISCLAIMER_HEADING_ZH = "四、责任确认"
DISCLAIMER_ZH = (
    "对于提供虚假材料或不实信息的,查询验证服务平台有权拒绝受理其申请。"
    "核查结果仅对证书的真实性进行确认,不对证书持有人真实资历及实际水平进行确认,"
    "如产生人事劳动关系等纠纷,查询验证服务平台不因此承担任何法律责任。"
)
DISCLAIMER_HEADING_EN = "4. Confirmation of responsibility"
DISCLAIMER_EN = (
    "Where false materials or untrue information are provided, the verification service "
    "platform has the right to refuse to accept the application. The verification result "
    "confirms only the authenticity of the certificate; it does not confirm the certificate "
    "holder's actual qualifications and experience or actual level of competence. Should a "
    "personnel or labour dispute or any other dispute arise, the verification service platform "
    "bears no legal liability on that account."
)
SCOPE_ZH = (
    "本报告仅证明上述证书经颁发机构核实为真实有效,不证明持证人的实际能力或水平;"
    "因聘用等人事劳动关系产生的纠纷,本平台不承担任何法律责任。"
)
SCOPE_EN = (
    "This report confirms only that the awarding bodies confirmed the certificate above as "
    "authentic; it says nothing of the holder's actual ability or competence. The platform "
    "takes no liability in employment or other labour disputes."
)

_STATUS_ZH = {
    Status.ACCEPTED: "已受理",
    Status.VERIFYING: "核验中",
    Status.AUTHENTIC: "真实",
    Status.NOT_AUTHENTIC: "不真实",
    Status.UNABLE_TO_VERIFY: "无法核验",
    Status.NEEDS_REVIEW: "待人工复核",
    Status.REFUSED: "不予受理",
}
_REGIONS = {
    "beijing": ("北京", "Beijing"),
    "tianjin": ("天津", "Tianjin"),
    "hebei": ("河北", "Hebei"),
}


@dataclass(frozen=True, slots=True)
class Bilingual:
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the catalogue says of the verified qualification."""

    name_zh: str
    name_en: str | None
    lists: tuple[Bilingual, ...]
    bodies: tuple[str, ...]  # each body's name as the catalogue prints it


@dataclass(frozen=True, slots=True)
class OfflineCheck:
    """Where a reader of the report checks the statement without this platform."""

    check_url: str  # the public check page, the code in its query
    jwks_url: str
    status_list_url: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    request_id: UUID
    code: str
    qualification: CatalogueEntry
    region: Bilingual
    verified_at: datetime
    holder_name_masked: str
    employer: str
    made_at: datetime
    statement: str  # the registry's compact JWS, embedded and printed as it is
    offline: OfflineCheck


@dataclass(frozen=True, slots=True)
class ReportSource:
    """The employer's request as far as the report needs it."""

    request_id: UUID
    status: Status
    verification_code: str | None
    region: str
    statement: str | None


class ReportUnavailable(Exception):
    """Only an authentic result with the registry's signed statement has a report."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    @classmethod
    def not_authentic(cls, status: Status) -> "ReportUnavailable":
        shown = _STATUS_ZH.get(status, status.value)
        return cls(
            f"仅真实的核验结果有核验报告;本申请的状态为「{shown}」。",
            "Only an authentic result has a verification report; this request is "
            f"{status.value.replace('_', ' ')}.",
        )

    @classmethod
    def unsigned(cls) -> "ReportUnavailable":
        return cls(
            "该结果没有登记处的签名声明(早于签名声明的启用),无法出具可离线核验的报告。",
            "This result has no signed statement of the registry (it predates them), so no "
            "report that verifies offline can be made.",
        )


def verification_report(
    source: ReportSource,
    entry: CatalogueEntry,
    employer: str,
    public_check_url: str,
    made_at: datetime,
) -> VerificationReport:
    """The report of `source`; raises ReportUnavailable unless it is authentic and signed."""
    if source.status is not Status.AUTHENTIC:
        raise ReportUnavailable.not_authentic(source.status)
    if source.verification_code is None or not source.statement:
        raise ReportUnavailable.unsigned()
    subject = statement_claims(source.statement)["credentialSubject"]
    zh, en = _REGIONS.get(source.region, (source.region, source.region))
    return VerificationReport(
        request_id=source.request_id,
        code=source.verification_code,
        qualification=entry,
        region=Bilingual(zh, en),
        verified_at=datetime.fromisoformat(subject["verifiedAt"]),
        holder_name_masked=str(subject["holderNameMasked"]),
        employer=employer,
        made_at=made_at,
        statement=source.statement,
        offline=offline_check(public_check_url, source.verification_code),
    )


def offline_check(public_check_url: str, code: str) -> OfflineCheck:
    """The check page with the code, and the JWKS and status list published beside it (the
    registry's public port serves all three)."""
    parts = urlsplit(public_check_url)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    return OfflineCheck(
        check_url=f"{public_check_url}?code={quote(code, safe='-')}",
        jwks_url=f"{base}/.well-known/jwks.json",
        status_list_url=f"{base}/v1/status-lists/1",
    )


def statement_claims(statement: str) -> dict[str, Any]:
    """The claims of a compact JWS, read without checking the signature: the statement comes
    from intake's own database, and the report embeds it for its readers to check."""
    segments = statement.split(".")
    if len(segments) != 3:
        raise ValueError("a signed statement is a compact JWS of three segments")
    payload = segments[1]
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, orjson.JSONDecodeError) as error:
        raise ValueError("the signed statement's payload is not JSON") from error
    if not isinstance(claims, dict) or not isinstance(claims.get("credentialSubject"), dict):
        raise ValueError("the signed statement has no credentialSubject")
    return claims


def catalogue_entry(
    name_zh: str,
    name_en: str | None,
    lists: Sequence[tuple[str, str]],
    bodies: Sequence[str],
) -> CatalogueEntry:
    return CatalogueEntry(
        name_zh=name_zh,
        name_en=name_en,
        lists=tuple(Bilingual(zh, en) for zh, en in lists),
        bodies=tuple(bodies),
    )
