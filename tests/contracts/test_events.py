"""Event envelopes: encode/decode through Kafka headers, versions and partition keys."""

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from services.contracts.events import (
    EVENT_TYPES,
    AccountMail,
    AccountMailRequested,
    CertificateClaim,
    CheckOutcome,
    CheckResult,
    DeliveryReplayRequested,
    DeliveryStatus,
    DeliveryUpdated,
    EmployerWebhooksConfigured,
    Event,
    HolderClaim,
    LocalizedText,
    OutcomePublished,
    QualificationWithdrawn,
    Stage,
    UnknownEvent,
    Verdict,
    VerdictReached,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
    WebhookEndpoint,
    decode,
    encode,
)

REQUEST_ID = uuid4()
EMPLOYER_ID = uuid4()
HOLDER_REF = "hr_5f2b9c"
DECIDED_AT = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

REQUESTED = VerificationRequested(
    request_id=REQUEST_ID,
    employer_id=EMPLOYER_ID,
    region="beijing",
    qualification_id="Q-ELEC",
    body_ids=["body-a", "body-b"],
    holder=HolderClaim(name="Zhang Wei", name_zh="张伟", nationality="CN", holder_ref=HOLDER_REF),
    certificate=CertificateClaim(
        number="C-1",
        issued_on=date(2020, 1, 1),
        expires_on=date(2030, 1, 1),
        channel_fields={"register_no": "R-9"},
    ),
)
VERDICT = VerdictReached(
    request_id=REQUEST_ID,
    employer_id=EMPLOYER_ID,
    region="tianjin",
    qualification_id="Q-ELEC",
    holder_ref=HOLDER_REF,
    verdict=Verdict.AUTHENTIC,
    reason=LocalizedText(zh="真实", en="authentic"),
    checks=[CheckResult(body_id="body-a", check="record", outcome=CheckOutcome.PASSED)],
    decided_at=DECIDED_AT,
    holder_name="Zhang Wei",
)
CONCLUDED = VerificationConcluded(
    request_id=REQUEST_ID,
    employer_id=EMPLOYER_ID,
    region="tianjin",
    qualification_id="Q-ELEC",
    holder_ref=HOLDER_REF,
    verdict=Verdict.AUTHENTIC,
    reason=LocalizedText(zh="真实", en="authentic"),
    checks=[CheckResult(body_id="body-a", check="record", outcome=CheckOutcome.PASSED)],
    decided_at=DECIDED_AT,
    verification_code="0EEN-2D2S-MS4A-PSD0-X",
    statement="eyJhbGciOiJFZERTQSJ9.e30.c2ln",
)
DELIVERY = DeliveryUpdated(
    webhook_id="msg_" + "0" * 32,
    employer_id=EMPLOYER_ID,
    request_id=REQUEST_ID,
    channel="email",
    destination="mailto:h***@example.cn",
    event_type="verification.completed",
    status=DeliveryStatus.DELIVERED,
    attempts=1,
    delivered_at=DECIDED_AT,
    created_at=DECIDED_AT,
    updated_at=DECIDED_AT,
)
REPLAY = DeliveryReplayRequested(employer_id=EMPLOYER_ID, webhook_id="msg_" + "0" * 32)
OUTCOME = OutcomePublished(
    request_id=REQUEST_ID,
    region="hebei",
    qualification_id="Q-ELEC",
    holder_ref=HOLDER_REF,
    verdict=Verdict.NOT_AUTHENTIC,
    verification_code=None,
    decided_at=DECIDED_AT,
)
WEBHOOKS = EmployerWebhooksConfigured(
    employer_id=EMPLOYER_ID,
    endpoints=[
        WebhookEndpoint(url="https://example.test/hook", sealed_secret="v1.0a1b2c3d.c2VhbGVk")
    ],
)
MAIL = AccountMailRequested(
    mail_id=UUID("3f1d2a9c-6a53-4c1e-9d7e-2b8f0c4e5a61"),
    employer_id=EMPLOYER_ID,
    kind=AccountMail.VERIFY_EMAIL,
    organisation="Example Ltd. 示例有限公司",
    sealed_recipient="v1.0a1b2c3d.c2VhbGVk",
    sealed_link="v1.0a1b2c3d.bGluaw",
)
PROGRESSED = VerificationProgressed(
    request_id=REQUEST_ID,
    employer_id=EMPLOYER_ID,
    stage=Stage.WAITING_FOR_BODY,
    expected_completion_at=DECIDED_AT,
    note=LocalizedText(zh="颁发机构暂时无法联系", en="An awarding body is temporarily unreachable"),
)
WITHDRAWN = QualificationWithdrawn(
    qualification_id="Q-OLD",
    edition_id="2025",
    withdrawn_on=date(2025, 3, 1),
    reason="merged into Q-ELEC",
)
EVENTS: list[Event] = [
    REQUESTED,
    PROGRESSED,
    VERDICT,
    CONCLUDED,
    OUTCOME,
    WEBHOOKS,
    MAIL,
    DELIVERY,
    REPLAY,
    WITHDRAWN,
]


def as_dict(headers: list[tuple[str, bytes]]) -> dict[str, bytes]:
    assert len({name for name, _ in headers}) == len(headers), "duplicate header"
    return dict(headers)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_round_trip_with_headers(event: Event) -> None:
    value, headers = encode(event, traceparent=TRACEPARENT)
    by_name = as_dict(headers)
    assert by_name["event-type"] == type(event).__name__.encode()
    assert by_name["schema-version"] == str(event.schema_version).encode()
    assert by_name["event-id"] == str(event.event_id).encode()
    assert by_name["traceparent"] == TRACEPARENT.encode()
    decoded = decode(value, by_name)
    assert type(decoded) is type(event)
    assert decoded == event


def test_every_registered_event_type_is_covered() -> None:
    # Event types added later must be given a round-trip case here.
    assert {type(e).__name__ for e in EVENTS} == set(EVENT_TYPES)
    for name, cls in EVENT_TYPES.items():
        assert cls.__name__ == name
        assert cls.topic.name


def test_no_traceparent_header_without_trace_context() -> None:
    _, headers = encode(VERDICT)
    assert "traceparent" not in as_dict(headers)


def test_event_ids_and_times_are_filled_in() -> None:
    other = OUTCOME.model_copy(update={"event_id": uuid4()})
    assert OUTCOME.event_id != other.event_id
    assert OUTCOME.occurred_at.tzinfo is not None


@pytest.mark.parametrize("type_name", [b"VerificationCancelled", b"", b"Event", b"verdictreached"])
def test_an_unknown_event_type_is_refused(type_name: bytes) -> None:
    value, headers = encode(VERDICT)
    by_name = as_dict(headers) | {"event-type": type_name}
    with pytest.raises(UnknownEvent):
        decode(value, by_name)


def test_a_missing_event_type_is_refused() -> None:
    value, headers = encode(VERDICT)
    by_name = {k: v for k, v in headers if k != "event-type"}
    with pytest.raises(UnknownEvent):
        decode(value, by_name)


@pytest.mark.parametrize("version", [b"1", b"3", b"0", b"", b"v2", b"2.0"])
def test_an_unsupported_schema_version_is_refused(version: bytes) -> None:
    """VerdictReached is at version 2; version 1 (with a code the verifier got by gRPC) is
    refused, not read as if it were the new shape."""
    value, headers = encode(VERDICT)
    with pytest.raises(UnknownEvent):
        decode(value, as_dict(headers) | {"schema-version": version})


def test_a_missing_schema_version_is_refused() -> None:
    value, headers = encode(VERDICT)
    with pytest.raises(UnknownEvent):
        decode(value, {k: v for k, v in headers if k != "schema-version"})


def test_a_payload_that_does_not_fit_its_type_is_refused() -> None:
    value, _ = encode(OUTCOME)
    _, verdict_headers = encode(VERDICT)
    with pytest.raises(ValidationError):
        decode(value, as_dict(verdict_headers))


def test_partition_keys() -> None:
    assert REQUESTED.key() == str(REQUEST_ID).encode()
    assert PROGRESSED.key() == str(REQUEST_ID).encode()
    assert VERDICT.key() == str(REQUEST_ID).encode()
    # Outcomes are keyed by holder so one holder's outcomes stay in order.
    assert OUTCOME.key() == HOLDER_REF.encode()
    assert WEBHOOKS.key() == str(EMPLOYER_ID).encode()
    assert WITHDRAWN.key() == b"Q-OLD"


def test_events_are_immutable() -> None:
    with pytest.raises(ValidationError):
        VERDICT.verdict = Verdict.NOT_AUTHENTIC  # type: ignore[misc]


def test_the_region_is_restricted_to_the_three_regions() -> None:
    with pytest.raises(ValidationError):
        OutcomePublished.model_validate(OUTCOME.model_dump() | {"region": "shanghai"})


def test_webhook_configurations_of_version_1_with_clear_secrets_are_refused() -> None:
    value, headers = encode(WEBHOOKS)
    with pytest.raises(UnknownEvent):
        decode(value, as_dict(headers) | {"schema-version": b"1"})
