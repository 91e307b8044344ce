"""Event schemas: facts in the past tense, versioned, shared by producers and consumers.

Every event carries an event id, its schema version and the request id; trace context
travels in Kafka headers (see `encode`).
"""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.topics import (
    CATALOGUE_CHANGES,
    DELIVERY_REPLAY_REQUESTED,
    DELIVERY_UPDATED,
    EMPLOYER_MAIL,
    EMPLOYER_WEBHOOKS,
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    VERIFICATION_REQUESTED,
    TopicSpec,
)

Region = Literal["beijing", "tianjin", "hebei"]


def utc_now() -> datetime:
    return datetime.now(UTC)


class LocalizedText(BaseModel):
    """Employer-facing text, always in both Chinese and English."""

    model_config = ConfigDict(frozen=True)
    zh: str
    en: str


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: ClassVar[TopicSpec]
    schema_version: ClassVar[int] = 1

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: datetime = Field(default_factory=utc_now)

    def key(self) -> bytes:
        raise NotImplementedError


class HolderClaim(BaseModel):
    """What the awarding body needs to match the holder; no identity document number."""

    model_config = ConfigDict(frozen=True)
    name: str
    name_zh: str | None = None
    nationality: str
    holder_ref: str = Field(description="Keyed hash of the identity document; pseudonymous")


class CertificateClaim(BaseModel):
    model_config = ConfigDict(frozen=True)
    number: str
    issued_on: date
    expires_on: date | None = None
    channel_fields: dict[str, str] = Field(default_factory=dict)


class VerificationRequested(Event):
    topic: ClassVar[TopicSpec] = VERIFICATION_REQUESTED

    request_id: UUID
    employer_id: UUID
    region: Region
    qualification_id: str
    body_ids: list[str]
    holder: HolderClaim
    certificate: CertificateClaim

    def key(self) -> bytes:
        return str(self.request_id).encode()


class Verdict(StrEnum):
    AUTHENTIC = "authentic"
    NOT_AUTHENTIC = "not_authentic"
    UNABLE_TO_VERIFY = "unable_to_verify"
    NEEDS_REVIEW = "needs_review"


class CheckOutcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    COULD_NOT_CHECK = "could_not_check"


class CheckResult(BaseModel):
    """One check against one awarding body, machine-readable."""

    model_config = ConfigDict(frozen=True)
    body_id: str
    check: str
    outcome: CheckOutcome
    reason: str = ""


class BodyContact(BaseModel):
    """How long one awarding body took to answer: what expected durations are learnt from."""

    model_config = ConfigDict(frozen=True)
    body_id: str
    channel: str
    seconds: float


class Stage(StrEnum):
    VERIFYING = "verifying"  # the bodies are being asked
    WAITING_FOR_BODY = "waiting_for_body"  # a body is down or slow; its requests wait
    PARKED = "parked"  # an asynchronous enquiry was sent; the answer comes later


class VerificationProgressed(Event):
    """A request moved on before its verdict, possibly with a new expected completion time."""

    topic: ClassVar[TopicSpec] = VERIFICATION_PROGRESSED

    request_id: UUID
    employer_id: UUID
    stage: Stage
    expected_completion_at: datetime | None = None
    note: LocalizedText | None = None

    def key(self) -> bytes:
        return str(self.request_id).encode()


class _Decision(Event):
    """What the verifier decided about one request, from every awarding body's answer."""

    request_id: UUID
    employer_id: UUID
    region: Region
    qualification_id: str
    holder_ref: str
    verdict: Verdict
    reason: LocalizedText
    checks: list[CheckResult]
    decided_at: datetime
    contacts: list[BodyContact] = Field(default_factory=list)

    def key(self) -> bytes:
        return str(self.request_id).encode()


class VerdictReached(_Decision):
    """The verifier's verdict, for the registry, which issues the code of an authentic one."""

    topic: ClassVar[TopicSpec] = VERDICT_REACHED
    # Version 1 carried the code, issued by the verifier calling the registry over gRPC.
    schema_version: ClassVar[int] = 2

    # An authentic verdict only: the registry keeps the masked form on the code's record.
    holder_name: str | None = None


class VerificationConcluded(_Decision):
    """The registry's record of a finished verification: the verdict, with the code and the
    signed statement of an authentic one. What the employer side acts on."""

    topic: ClassVar[TopicSpec] = VERIFICATION_CONCLUDED

    verification_code: str | None = None
    # The registry's signed statement of an authentic verdict (a compact JWS, masked name and
    # pseudonymous holder reference only), so the employer's report can carry it.
    statement: str | None = None


class OutcomePublished(Event):
    """What the regional systems of Beijing, Tianjin and Hebei receive: no more than they need."""

    topic: ClassVar[TopicSpec] = OUTCOME_PUBLISHED

    request_id: UUID
    region: Region
    qualification_id: str
    holder_ref: str
    verdict: Verdict
    verification_code: str | None
    decided_at: datetime

    def key(self) -> bytes:
        return self.holder_ref.encode()


class WebhookEndpoint(BaseModel):
    model_config = ConfigDict(frozen=True)
    url: str
    # The signing secret sealed with AES-256-GCM under the key only intake and the notifier
    # hold, bound to employer and URL (services/runtime/secret_box.py); never the secret itself.
    sealed_secret: str


class EmployerWebhooksConfigured(Event):
    """Latest webhook endpoints of one employer (compacted topic keyed by employer)."""

    topic: ClassVar[TopicSpec] = EMPLOYER_WEBHOOKS
    # Version 1 carried each secret in clear; those secrets were rotated when version 2 came.
    schema_version: ClassVar[int] = 2

    employer_id: UUID
    endpoints: list[WebhookEndpoint]
    # E-mail addresses for notifications; None leaves the ones already configured unchanged.
    emails: list[str] | None = None

    def key(self) -> bytes:
        return str(self.employer_id).encode()


class AccountMail(StrEnum):
    VERIFY_EMAIL = "verify-email"  # the link confirms the address given at sign-up
    EMPLOYER_APPROVED = "employer-approved"
    EMPLOYER_REJECTED = "employer-rejected"
    PASSWORD_RESET = "password-reset"
    INVITATION = "invitation"  # an employer's admin added a user: the link sets a password


class AccountMailRequested(Event):
    """Intake asks the notifier to send one account e-mail over SMTP. The address and the link
    (a one-time secret) are sealed like webhook secrets (services/runtime/secret_box.py), bound
    to the employer and `mail_id`, so neither is readable on Kafka."""

    topic: ClassVar[TopicSpec] = EMPLOYER_MAIL

    mail_id: UUID  # the notifier sends each mail id once
    employer_id: UUID
    kind: AccountMail
    organisation: str  # the employer's name, for the greeting
    sealed_recipient: str  # box.seal(address, employer_id, f"mail:{mail_id}:to")
    sealed_link: str | None = None  # box.seal(url, employer_id, f"mail:{mail_id}:link")
    note: LocalizedText | None = None  # e.g. an operator's reason for a rejection
    link_valid_hours: float | None = None  # how long the link stays valid, told in the mail

    def key(self) -> bytes:
        return str(self.employer_id).encode()


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the last attempt


class DeliveryUpdated(Event):
    """A delivery (a webhook or a notification e-mail) as its employer sees it, after each
    attempt and on a replay; the latest `updated_at` wins. No address in clear: an e-mail
    destination is masked."""

    topic: ClassVar[TopicSpec] = DELIVERY_UPDATED

    webhook_id: str  # the delivery's id, the same for every attempt and replay
    employer_id: UUID
    request_id: UUID
    channel: str  # "webhook" or "email"
    destination: str  # the endpoint's URL, or the masked e-mail address
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime
    replayed_at: datetime | None = None
    updated_at: datetime

    def key(self) -> bytes:
        return str(self.employer_id).encode()


class DeliveryReplayRequested(Event):
    """An employer asked, through intake, to send a finished delivery again with its id."""

    topic: ClassVar[TopicSpec] = DELIVERY_REPLAY_REQUESTED

    employer_id: UUID
    webhook_id: str

    def key(self) -> bytes:
        return str(self.employer_id).encode()


class QualificationWithdrawn(Event):
    """The registry withdrew a qualification from the catalogue (the notice's exit mechanism)."""

    topic: ClassVar[TopicSpec] = CATALOGUE_CHANGES

    qualification_id: str
    edition_id: str
    withdrawn_on: date
    reason: str

    def key(self) -> bytes:
        return self.qualification_id.encode()


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        VerificationRequested,
        VerificationProgressed,
        VerdictReached,
        VerificationConcluded,
        OutcomePublished,
        DeliveryUpdated,
        DeliveryReplayRequested,
        EmployerWebhooksConfigured,
        AccountMailRequested,
        QualificationWithdrawn,
    )
}


class UnknownEvent(ValueError):
    """A message whose type or schema version this build does not understand."""


def encode(event: Event, traceparent: str | None = None) -> tuple[bytes, list[tuple[str, bytes]]]:
    headers = [
        ("event-type", type(event).__name__.encode()),
        ("schema-version", str(event.schema_version).encode()),
        ("event-id", str(event.event_id).encode()),
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return event.model_dump_json().encode(), headers


def decode(value: bytes, headers: dict[str, bytes]) -> Event:
    type_name = headers.get("event-type", b"").decode()
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise UnknownEvent(f"unknown event type {type_name!r}")
    version = headers.get("schema-version", b"").decode()
    if version != str(cls.schema_version):
        raise UnknownEvent(f"{type_name} schema version {version} is not supported")
    return cls.model_validate_json(value)
