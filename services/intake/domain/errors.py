"""Why intake refuses a request: stable codes, each with text in Chinese and English.

The HTTP edge maps each code once to an RFC 9457 problem type (see api/problems.py).
"""

from dataclasses import dataclass, field
from enum import StrEnum


class RefusalCode(StrEnum):
    INVALID_FIELD = "invalid-field"
    UNKNOWN_QUALIFICATION = "unknown-qualification"
    WITHDRAWN_QUALIFICATION = "withdrawn-qualification"
    BODY_DOES_NOT_AWARD = "body-does-not-award"
    DATE_IN_FUTURE = "date-in-future"
    CERTIFICATE_EXPIRED = "certificate-expired"
    MISSING_CHANNEL_FIELD = "missing-channel-field"
    CONSENT_REQUIRED = "consent-required"
    NOT_FOUND = "not-found"
    UNAUTHENTICATED = "unauthenticated"
    IDEMPOTENCY_KEY_REUSED = "idempotency-key-reused"


@dataclass(frozen=True)
class FieldProblem:
    pointer: str  # JSON Pointer (RFC 6901) to the offending field
    detail_zh: str
    detail_en: str


@dataclass
class Refusal(Exception):
    code: RefusalCode
    title_zh: str
    title_en: str
    problems: list[FieldProblem] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.title_en}"


def not_found() -> Refusal:
    return Refusal(RefusalCode.NOT_FOUND, "未找到该核验申请", "No such verification request")
