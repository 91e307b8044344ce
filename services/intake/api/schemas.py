"""Request and response bodies of the employer-facing HTTP API (separate from the domain)."""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from services.contracts.events import Region

DISCLAIMER = {
    "zh": "核验结果仅确认证书的真实性，不代表持证人的实际能力水平。",
    "en": "The result confirms the certificate only, never the holder's actual competence.",
}

_NAME = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


class HolderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = _NAME
    name_zh: str | None = Field(default=None, min_length=1, max_length=100)
    nationality: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3, e.g. CHN")
    document_type: Literal["resident_id", "passport", "other"]
    document_number: str = Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z-]+$")


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")
    issued_on: date
    expires_on: date | None = None
    channel_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Awarding-body-specific fields (validation number, credential URL, badge).",
    )


class VerificationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "qualification_id": "Q-0001",
                    "region": "beijing",
                    "holder": {
                        "name": "ZHANG Wei",
                        "name_zh": "张伟",
                        "nationality": "CHN",
                        "document_type": "resident_id",
                        "document_number": "11010519491231002X",
                    },
                    "certificate": {"number": "AWS-0001", "issued_on": "2024-03-01"},
                    "consent": True,
                }
            ]
        },
    )
    qualification_id: str = Field(min_length=1, max_length=64)
    body_ids: list[str] | None = Field(default=None, min_length=1, max_length=10)
    region: Region
    holder: HolderIn
    certificate: CertificateIn
    consent: bool


class VerificationOut(BaseModel):
    id: UUID
    status: str
    qualification_id: str
    body_ids: list[str]
    region: str
    accepted_at: datetime
    expected_completion_at: datetime
    decided_at: datetime | None = None
    verification_code: str | None = None
    reason: dict[str, str] | None = None
    checks: list[dict[str, Any]] | None = None
    disclaimer: dict[str, str] = Field(default_factory=lambda: dict(DISCLAIMER))


class VerificationPage(BaseModel):
    items: list[VerificationOut]
    next_before: datetime | None


class WebhooksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: list[HttpUrl] = Field(max_length=5)


class WebhookOut(BaseModel):
    url: str
    secret: str


class WebhooksOut(BaseModel):
    endpoints: list[WebhookOut]
