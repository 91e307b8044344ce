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
    MALFORMED_BATCH = "malformed-batch"
    BATCH_TOO_LARGE = "batch-too-large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type"
    INVALID_CURSOR = "invalid-cursor"
    FORBIDDEN_WEBHOOK_URL = "forbidden-webhook-url"
    MALFORMED_JSON = "malformed-json"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    INTERNAL_ERROR = "internal-error"
    SERVICE_UNAVAILABLE = "service-unavailable"
    EMPLOYER_NOT_PENDING = "employer-not-pending"  # an operator deciding a decided employer


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


def not_found(
    title_zh: str = "未找到该核验申请", title_en: str = "No such verification request"
) -> Refusal:
    return Refusal(RefusalCode.NOT_FOUND, title_zh, title_en)


def invalid_cursor() -> Refusal:
    return Refusal(
        RefusalCode.INVALID_CURSOR,
        "分页游标无效",
        "The page cursor is invalid",
        [
            FieldProblem(
                "/cursor", "请使用上一页返回的游标", "use the cursor the previous page returned"
            )
        ],
    )
