"""Request and response bodies of the employer-facing HTTP API (separate from the domain)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from services.contracts.events import Region
from services.intake.domain.lifecycle import Status

DISCLAIMER = {
    "zh": "核验结果仅确认证书的真实性，不代表持证人的实际能力水平。",
    "en": "The result confirms the certificate only, never the holder's actual competence.",
}

_NAME = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")
# PostgreSQL refuses NUL in text, and no field of ours has a use for control characters.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]+$"
PRINTABLE_ASCII = r"^[\x21-\x7e]+$"
ChannelFieldName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
ChannelFieldValue = Annotated[str, Field(max_length=8192, pattern=r"^[^\x00-\x1f\x7f]*$")]

EXAMPLE_APPLICATION: dict[str, Any] = {
    "qualification_id": "aws-e94e5145",
    "region": "beijing",
    "holder": {
        "name": "ZHANG Wei",
        "name_zh": "张伟",
        "nationality": "CHN",
        "document_type": "resident_id",
        "document_number": "11010519491231002X",
    },
    "certificate": {"number": "AWS-68234618", "issued_on": "2024-03-01"},
    "consent": True,
}

EXAMPLE_PASSPORT_APPLICATION: dict[str, Any] = {
    "qualification_id": "baft-a281b26c",
    "body_ids": ["libf"],
    "region": "tianjin",
    "holder": {
        "name": "Kenji Nguyen",
        "nationality": "JPN",
        "document_type": "passport",
        "document_number": "TK1234567",
    },
    "certificate": {
        "number": "CDCS-2023-0042",
        "issued_on": "2023-05-10",
        "expires_on": "2030-05-10",
        "channel_fields": {"validation_number": "VN-42"},
    },
    "consent": True,
}


class HolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="Name exactly as printed on the certificate",
    )
    name_zh: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_CHARACTERS,
        description="Name in Chinese, if any",
    )
    nationality: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3, e.g. CHN")
    document_type: Literal["resident_id", "passport", "other"] = Field(
        description="`resident_id` numbers are checked with their GB 11643 check digit"
    )
    document_number: str = Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z-]+$")


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=100, pattern=PRINTABLE_ASCII)
    issued_on: date = Field(description="Date of issue; not after today")
    expires_on: date | None = Field(default=None, description="Expiry date; not before today")
    channel_fields: dict[ChannelFieldName, ChannelFieldValue] = Field(
        default_factory=dict,
        max_length=20,
        description=(
            "Awarding-body-specific fields (validation number, credential URL, badge …); "
            "a body's channel may require some (refusal `missing-channel-field`)."
        ),
    )


class VerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_APPLICATION]})
    qualification_id: str = Field(min_length=1, max_length=64, description="Catalogue id")
    body_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Awarding bodies to ask; default: every body that awards the qualification",
    )
    region: Region = Field(description="Where the employment is: beijing, tianjin or hebei")
    holder: HolderIn
    certificate: CertificateIn
    consent: bool = Field(description="The holder consents to the verification; must be true")


class LocalizedOut(BaseModel):
    zh: str
    en: str


class StatusChange(BaseModel):
    status: str
    at: datetime
    stage: str | None = Field(default=None, description="verifying / waiting_for_body / parked")


class VerificationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0d3c4a6e-6f1e-4d37-9f5a-2b8f8f1f6c11",
                    "status": "authentic",
                    "qualification_id": "aws-e94e5145",
                    "body_ids": ["aws"],
                    "region": "beijing",
                    "accepted_at": "2025-06-01T09:30:00Z",
                    "verifying_at": "2025-06-01T09:30:01Z",
                    "expected_completion_at": "2025-06-01T09:30:05Z",
                    "decided_at": "2025-06-01T09:30:04Z",
                    "verification_code": "0EEN-2D2S-MS4A-PSD0-*",
                    "reason": {"zh": "证书真实", "en": "The certificate is authentic"},
                    "history": [
                        {"status": "accepted", "at": "2025-06-01T09:30:00Z"},
                        {"status": "verifying", "stage": "verifying", "at": "2025-06-01T09:30:01Z"},
                        {"status": "authentic", "at": "2025-06-01T09:30:04Z"},
                    ],
                    "disclaimer": {"zh": DISCLAIMER["zh"], "en": DISCLAIMER["en"]},
                }
            ]
        }
    )
    id: UUID
    status: Status
    qualification_id: str
    body_ids: list[str]
    region: str
    accepted_at: datetime
    verifying_at: datetime | None = None
    stage: str | None = None
    expected_completion_at: datetime = Field(
        description=(
            "When the verdict is expected: from the awarding bodies' channels and their recently "
            "observed turnaround (or the verifier's own estimate); kept current until decided"
        )
    )
    decided_at: datetime | None = None
    verification_code: str | None = None
    reason: dict[str, str] | None = Field(
        default=None, description="Why (zh/en), for not_authentic / unable_to_verify"
    )
    checks: list[dict[str, Any]] | None = None
    history: list[StatusChange] = Field(default_factory=list)
    disclaimer: dict[str, str] = Field(default_factory=lambda: dict(DISCLAIMER))


class VerificationPage(BaseModel):
    items: list[VerificationOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
    next_before: datetime | None = Field(description="Deprecated: use next_cursor")


class FieldError(BaseModel):
    pointer: str = Field(description="JSON Pointer (RFC 6901) into the request (or row)")
    detail: str
    message: LocalizedOut
    column: str | None = Field(default=None, description="CSV column, for CSV batch rows")


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/unknown-qualification",
                    "title": "The qualification is not in the recognition catalogue",
                    "status": 422,
                    "detail": "/qualification_id: no such catalogue id",
                    "instance": "/v1/verifications",
                    "code": "unknown-qualification",
                    "message": {
                        "zh": "该职业资格不在认可目录中",
                        "en": "The qualification is not in the recognition catalogue",
                    },
                    "errors": [
                        {
                            "pointer": "/qualification_id",
                            "detail": "no such catalogue id",
                            "message": {"zh": "目录中无此编号", "en": "no such catalogue id"},
                        }
                    ],
                }
            ]
        }
    )
    type: str = Field(description="Stable, machine-readable: /problems/<code>")
    title: str
    status: int
    detail: str
    instance: str
    code: str
    message: LocalizedOut
    errors: list[FieldError]
    line: int | None = Field(default=None, description="malformed-json: line of the error")
    column: int | None = Field(default=None, description="malformed-json: column (1-based)")


class CheckOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ok": True,
                    "body_ids": ["aws"],
                    "expected_completion_at": "2025-06-01T09:30:05Z",
                    "in_flight_request_id": None,
                }
            ]
        }
    )
    ok: Literal[True] = True
    body_ids: list[str]
    expected_completion_at: datetime = Field(description="If it were submitted now")
    in_flight_request_id: UUID | None = Field(
        default=None, description="Submitting now would return this request already in flight"
    )


class BatchRow(BaseModel):
    row: int = Field(description="1-based position of the row (CSV: data rows after the header)")
    result: Literal["accepted", "already_in_flight", "refused"]
    verification: VerificationOut | None = None
    problem: Problem | None = None


class BatchOut(BaseModel):
    rows: int
    accepted: int
    already_in_flight: int
    refused: int
    results: list[BatchRow]


class BatchCheckRow(BaseModel):
    row: int
    ok: bool
    body_ids: list[str] | None = None
    expected_completion_at: datetime | None = None
    problem: Problem | None = None


class BatchCheckOut(BaseModel):
    rows: int
    ok: int
    refused: int
    results: list[BatchCheckRow]


class WebhooksIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"urls": ["https://example.com/hook"]}]}
    )
    urls: list[HttpUrl] = Field(max_length=5)


class WebhookOut(BaseModel):
    url: str
    secret: str


class WebhooksOut(BaseModel):
    endpoints: list[WebhookOut]


# ------------------------------------------------------------------ catalogue (public)


class BodyOut(BaseModel):
    id: str
    name: str
    aliases: list[str]
    country: str
    qualification_count: int


class BodyPage(BaseModel):
    items: list[BodyOut]


class ListMembershipOut(BaseModel):
    list: str = Field(description="international / urgent / outbound / mutual")
    name_zh: str
    name_en: str
    seq: int


class QualificationSummary(BaseModel):
    id: str
    name: str
    name_en: str | None = Field(description="English name, where the awarding body uses one")
    body_ids: list[str]
    country: str
    fields: list[str]
    lists: list[ListMembershipOut]
    withdrawn: bool = Field(description="Withdrawn from the catalogue as of today")
    withdrawn_on: date | None = Field(
        description="Date of the withdrawal, past or scheduled (withdrawn from this date)"
    )


class QualificationPage(BaseModel):
    items: list[QualificationSummary]
    total: int
    next_cursor: str | None


class BenefitOut(BaseModel):
    text_zh: str
    gloss_en: str | None


class ListDetailOut(ListMembershipOut):
    benefits_intro_zh: str
    benefits: list[BenefitOut]
    benefits_gloss_en: str | None
    in_addition_to: str | None


class WithdrawalOut(BaseModel):
    date: date  # withdrawn from this date (inclusive)
    reason: str
    in_effect: bool = Field(description="False while the withdrawal is only scheduled")


class QualificationDetail(BaseModel):
    id: str
    name: str
    name_en: str | None = Field(description="English name, where the awarding body uses one")
    country: str
    fields: list[str]
    notes: str
    bodies: list[BodyOut]
    lists: list[ListDetailOut]
    withdrawal: WithdrawalOut | None
    edition: str
