"""Awarding bodies as the verifier reports them, the enquiries awaiting their answer, and the
answer an operator enters after telephoning a body. Pure: no I/O."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


@dataclass(frozen=True)
class Bilingual:
    en: str
    zh: str


class BodiesError(Exception):
    """A failure of the awarding-bodies section, with what to tell the operator."""

    def __init__(self, message: Bilingual) -> None:
        super().__init__(message.en)
        self.message = message


class VerifierUnavailable(BodiesError):
    """The verifier did not answer, or answered something unexpected; try again later."""


class VerifierRefused(BodiesError):
    """The verifier refused the console's operator token: a configuration fault."""


class EnquiryNotFound(BodiesError):
    """No such enquiry (a mistyped reference, or one the verifier does not know)."""


class InvalidAnswer(BodiesError):
    """The answer is not one the verifier accepts."""


class InvalidQuery(BodiesError):
    """The verifier refused a read's parameters (e.g. an awarding body it does not know)."""


class AnswerStatus(StrEnum):
    """What a body may say of a certificate (the verifier's EnquiryAnswer statuses)."""

    CONFIRMED = "confirmed"
    NOT_FOUND = "not_found"
    REVOKED = "revoked"
    EXPIRED = "expired"


MAX_REGISTERED_NAME = 200


@dataclass(frozen=True)
class EnquiryAnswer:
    status: AnswerStatus
    registered_name: str | None = None


def enquiry_answer(status: str, registered_name: str | None) -> EnquiryAnswer:
    """The operator's answer as entered in a form; InvalidAnswer says what is wrong."""
    try:
        chosen = AnswerStatus(status)
    except ValueError:
        raise InvalidAnswer(
            Bilingual(
                en="Choose what the body said: confirmed, not found, revoked or expired",
                zh="请选择颁发机构的答复：确认、查无此证、已撤销或已过期",
            )
        ) from None
    name = (registered_name or "").strip() or None
    if name is not None and (len(name) > MAX_REGISTERED_NAME or not name.isprintable()):
        raise InvalidAnswer(
            Bilingual(
                en=f"The registered name must be at most {MAX_REGISTERED_NAME} printable "
                "characters",
                zh=f"登记姓名最多 {MAX_REGISTERED_NAME} 个可打印字符",
            )
        )
    if chosen is AnswerStatus.CONFIRMED and name is None:
        raise InvalidAnswer(
            Bilingual(
                en="A confirmed certificate needs the name the body has registered",
                zh="确认证书时须填写颁发机构登记的姓名",
            )
        )
    return EnquiryAnswer(chosen, name)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Breaker:
    state: BreakerState
    since: datetime | None
    consecutive_failures: int
    failure_threshold: int
    open_seconds: float


@dataclass(frozen=True)
class AnswerTime:
    at: datetime
    seconds: float


@dataclass(frozen=True)
class BodyHealth:
    body_id: str
    name: str | None
    channel: str
    expected_answer_seconds: float
    deadline_seconds: float
    breaker: Breaker
    attempts: int
    failed_attempts: int
    error_rate: float | None
    answers_kept: int
    p50_seconds: float | None
    p90_seconds: float | None
    last_answers: tuple[AnswerTime, ...]
    open_enquiries: int
    overdue_enquiries: int
    next_due_at: datetime | None

    @property
    def slower_than_expected(self) -> bool:
        """Its median answer time exceeds what the platform promises for it."""
        return self.p50_seconds is not None and self.p50_seconds > self.expected_answer_seconds


@dataclass(frozen=True)
class BodiesReport:
    instance: str
    generated_at: datetime
    window_seconds: float
    bodies: tuple[BodyHealth, ...]


@dataclass(frozen=True)
class OpenEnquiry:
    reference: str
    request_id: UUID
    body_id: str
    sent_at: datetime
    due_at: datetime

    def overdue(self, now: datetime) -> bool:
        return now >= self.due_at


@dataclass(frozen=True)
class OpenEnquiries:
    total: int
    items: tuple[OpenEnquiry, ...]
