"""The rules that decide whether a verification request is eligible. Pure: no I/O."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode
from services.intake.domain.identifiers import is_valid_resident_id

DocumentType = Literal["resident_id", "passport", "other"]


@dataclass(frozen=True)
class QualificationFacts:
    """What intake needs to know of a catalogue entry."""

    id: str
    body_ids: tuple[str, ...]
    withdrawn: bool


class CatalogueView(Protocol):
    def facts(self, qualification_id: str) -> QualificationFacts | None: ...


@dataclass(frozen=True)
class Holder:
    name: str
    name_zh: str | None
    nationality: str
    document_type: DocumentType
    document_number: str


@dataclass(frozen=True)
class Certificate:
    number: str
    issued_on: date
    expires_on: date | None
    channel_fields: dict[str, str]


@dataclass(frozen=True)
class Application:
    qualification_id: str
    body_ids: tuple[str, ...] | None  # None: every awarding body of the qualification
    region: str
    holder: Holder
    certificate: Certificate
    consent: bool


def check_eligibility(
    application: Application,
    catalogue: CatalogueView,
    today: date,
    required_channel_fields: Mapping[str, Sequence[str]] | None = None,
) -> QualificationFacts:
    """Return the catalogue facts of an eligible application, or raise the first Refusal.

    `required_channel_fields` maps an awarding body to the certificate fields its channel
    needs (a body not in the map needs none).
    """
    _check_consent(application)
    _check_identity_document(application.holder)
    facts = _check_qualification(application, catalogue)
    _check_dates(application.certificate, today)
    bodies = application.body_ids or facts.body_ids
    _check_channel_fields(application.certificate, bodies, required_channel_fields or {})
    return facts


def _check_channel_fields(
    certificate: Certificate, bodies: Sequence[str], required: Mapping[str, Sequence[str]]
) -> None:
    needed = dict.fromkeys(name for body in bodies for name in required.get(body, ()))
    missing = [name for name in needed if not certificate.channel_fields.get(name, "").strip()]
    if missing:
        raise Refusal(
            RefusalCode.MISSING_CHANNEL_FIELD,
            "缺少颁发机构核验所需的字段",
            "A field the awarding body needs to verify the certificate is missing",
            [
                FieldProblem(
                    f"/certificate/channel_fields/{_pointer_token(name)}",
                    f"颁发机构核验需要此字段：{name}",
                    f"the awarding body's channel needs this field: {name}",
                )
                for name in missing
            ],
        )


def _pointer_token(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _check_consent(application: Application) -> None:
    if not application.consent:
        raise Refusal(
            RefusalCode.CONSENT_REQUIRED,
            "持证人未同意核验",
            "The holder's consent to verification is required",
            [FieldProblem("/consent", "须为 true", "must be true")],
        )


def _check_identity_document(holder: Holder) -> None:
    if holder.document_type == "resident_id" and not is_valid_resident_id(holder.document_number):
        raise Refusal(
            RefusalCode.INVALID_FIELD,
            "身份证号码无效",
            "The resident ID number is invalid",
            [
                FieldProblem(
                    "/holder/document_number",
                    "居民身份证号码校验位不正确",
                    "the check digit of the resident ID number (GB 11643) is wrong",
                )
            ],
        )


def _check_qualification(application: Application, catalogue: CatalogueView) -> QualificationFacts:
    facts = catalogue.facts(application.qualification_id)
    if facts is None:
        raise Refusal(
            RefusalCode.UNKNOWN_QUALIFICATION,
            "该职业资格不在认可目录中",
            "The qualification is not in the recognition catalogue",
            [FieldProblem("/qualification_id", "目录中无此编号", "no such catalogue id")],
        )
    if facts.withdrawn:
        raise Refusal(
            RefusalCode.WITHDRAWN_QUALIFICATION,
            "该职业资格已退出目录",
            "The qualification has been withdrawn from the catalogue",
            [FieldProblem("/qualification_id", "已退出目录", "withdrawn")],
        )
    foreign = [b for b in application.body_ids or () if b not in facts.body_ids]
    if foreign:
        raise Refusal(
            RefusalCode.BODY_DOES_NOT_AWARD,
            "所列颁发机构不颁发该职业资格",
            "A listed awarding body does not award this qualification",
            [
                FieldProblem(f"/body_ids/{i}", "该机构不颁发此资格", "does not award it")
                for i, b in enumerate(application.body_ids or ())
                if b in foreign
            ],
        )
    return facts


def _check_dates(certificate: Certificate, today: date) -> None:
    if certificate.issued_on > today:
        raise Refusal(
            RefusalCode.DATE_IN_FUTURE,
            "发证日期晚于今天",
            "The date of issue is in the future",
            [FieldProblem("/certificate/issued_on", "不能晚于今天", "must not be after today")],
        )
    if certificate.expires_on is not None and certificate.expires_on < today:
        raise Refusal(
            RefusalCode.CERTIFICATE_EXPIRED,
            "证书已过期",
            "The certificate has expired",
            [FieldProblem("/certificate/expires_on", "证书已过期", "the certificate has expired")],
        )
