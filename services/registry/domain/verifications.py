"""Verifications: what the registry records when it issues a code, and the rules for issuing."""

import base64
import binascii
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.registry.domain.codes import VerificationCode
from services.registry.domain.errors import InvalidField, RequestConflict

MAX_TEXT = 200  # longest identifier or name the registry accepts in any field
HOLDER_PAGE_DEFAULT = 50
HOLDER_PAGE_MAX = 100


class Region(StrEnum):
    BEIJING = "beijing"
    TIANJIN = "tianjin"
    HEBEI = "hebei"


class CodeStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """A validated request to issue the code of an authentic verdict."""

    request_id: UUID
    qualification_id: str
    body_ids: tuple[str, ...]
    holder_ref: str
    holder_name: str
    region: Region
    employer_id: str
    verified_at: datetime


@dataclass(frozen=True, slots=True)
class Verification:
    request_id: UUID
    code: VerificationCode
    qualification_id: str
    body_ids: tuple[str, ...]
    holder_ref: str
    holder_name: str
    region: Region
    employer_id: str
    verified_at: datetime
    created_at: datetime
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    status_list_index: int | None = None
    statement: str | None = None  # compact JWS of the signed verification statement

    @property
    def status(self) -> CodeStatus:
        return CodeStatus.VALID if self.revoked_at is None else CodeStatus.REVOKED


@dataclass(frozen=True, slots=True)
class Issued:
    verification: Verification
    newly_issued: bool


@dataclass(frozen=True, slots=True)
class HolderCursor:
    """Where a page of one holder's verifications ended (they are ordered by these two)."""

    verified_at: datetime
    request_id: UUID

    def encode(self) -> str:
        text = f"{self.verified_at.isoformat()}|{self.request_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "HolderCursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            moment, request_id = raw.split("|")
            verified_at = datetime.fromisoformat(moment)
            if verified_at.tzinfo is None:
                raise ValueError("naive time")
            return cls(verified_at, UUID(request_id))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidField(
                "cursor", "is not a next_cursor this registry issued", "不是本服务签发的游标"
            ) from None


def page_limit(value: int, default: int, maximum: int) -> int:
    """A page size: 0 means the default, else 1..maximum."""
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidField(
            "limit", f"must be between 1 and {maximum}", f"必须在 1 到 {maximum} 之间"
        )
    return value


def parse_request_id(text: str, field: str = "request_id") -> UUID:
    if not text.strip():
        raise InvalidField(field, "is required", "不能为空")
    try:
        return UUID(text.strip())
    except ValueError:
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidField(
            field,
            f"must be a UUID such as 1b4e28ba-2fa1-11d2-883f-0016d3cca427, got '{shown}'",
            f"必须是 UUID（例如 1b4e28ba-2fa1-11d2-883f-0016d3cca427），实际为“{shown}”",
        ) from None


def new_issue_request(
    *,
    request_id: str,
    qualification_id: str,
    body_ids: list[str],
    holder_ref: str,
    holder_name: str,
    region: str,
    employer_id: str,
    verified_at: datetime | None,
) -> IssueRequest:
    """Validates the fields of a code to issue, raising InvalidField for the first bad one."""
    parsed_id = parse_request_id(request_id)
    if verified_at is None:
        raise InvalidField("verified_at", "is required", "不能为空")
    if verified_at.tzinfo is None:
        raise InvalidField("verified_at", "must carry a time zone", "必须带时区")
    if not body_ids:
        raise InvalidField(
            "body_ids", "must name at least one awarding body", "至少包含一个颁证机构"
        )
    return IssueRequest(
        request_id=parsed_id,
        qualification_id=_required_text("qualification_id", qualification_id),
        body_ids=tuple(_required_text("body_ids", body_id) for body_id in body_ids),
        holder_ref=_required_text("holder_ref", holder_ref),
        holder_name=_required_text("holder_name", holder_name),
        region=parse_region(region),
        employer_id=_required_text("employer_id", employer_id),
        verified_at=verified_at,
    )


def ensure_same_verification(existing: Verification, request: IssueRequest) -> None:
    """A request issued again must describe the same verification as the one first recorded."""
    if (existing.qualification_id, existing.holder_ref) != (
        request.qualification_id,
        request.holder_ref,
    ):
        raise RequestConflict(
            f"request {request.request_id} already has a code for another qualification or holder",
            f"核验申请 {request.request_id} 已为其他资格或持证人签发核验码",
        )


def revocation_reason(text: str) -> str:
    """The reason an operator gives for revoking a code: required, short, printable."""
    return _required_text("reason", text)


def _required_text(field: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidField(field, "is required", "不能为空")
    if len(value) > MAX_TEXT:
        raise InvalidField(
            field, f"is longer than {MAX_TEXT} characters", f"超过 {MAX_TEXT} 个字符"
        )
    if any(unicodedata.category(character) == "Cc" for character in value):
        raise InvalidField(field, "contains control characters", "包含控制字符")
    return value


def parse_region(value: str) -> Region:
    try:
        return Region(value.strip().lower())
    except ValueError:
        allowed = ", ".join(region.value for region in Region)
        raise InvalidField(
            "region", f"must be one of {allowed}", f"必须是以下之一：{allowed}"
        ) from None
