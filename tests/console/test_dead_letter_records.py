"""Parked records (pure): the masked preview never shows a document or certificate number and
masks names, e-mails and phones; a replay gives back exactly what the producer signed."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.console.domain.dead_letters import NotReplayable, ParkedRecord
from services.console.domain.masking import mask_name, masked_preview
from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested, encode
from services.runtime.event_auth import SIGNATURE_HEADERS, EventKeys
from tests.signing import signed

DOCUMENT = "E12345678"
CERTIFICATE = "AWS-68234618"
RESIDENT_ID = "11010519491231002X"


def poison_payload() -> bytes:
    return json.dumps(
        {
            "request_id": str(uuid.uuid4()),
            "holder": {
                "name": "Kenji Nguyen",
                "name_zh": "阮健二",
                "nationality": "CHN",
                "document_number": DOCUMENT,
                "holder_ref": "9f86d081884c7d659a2f",
            },
            "certificate": {
                "number": CERTIFICATE,
                "issued_on": "2023-09-27",
                "channel_fields": {"credential_jwt": "eyJhbGciOi.x.y", "validation_number": "77"},
            },
            "note": f"resident id {RESIDENT_ID}, call +86 138 1234 5678 or kenji.n@example.com",
            "emails": ["hr@employer.example"],
            "phone": "13812345678",
            "region": "beijing",
        }
    ).encode()


def test_the_preview_removes_document_and_certificate_numbers_wherever_they_are() -> None:
    preview = masked_preview(poison_payload())
    for secret in (DOCUMENT, CERTIFICATE, RESIDENT_ID, "12345678", "eyJhbGciOi", "9f86d081"):
        assert secret not in preview
    assert "[removed]" in preview


def test_the_preview_masks_names_emails_and_phones_but_keeps_what_operators_need() -> None:
    preview = masked_preview(poison_payload())
    for personal in ("Kenji", "Nguyen", "健二", "kenji.n@", "hr@", "13812345678", "1234 5678"):
        assert personal not in preview
    decoded = json.loads(preview)
    assert decoded["holder"]["name"] == "K**** N*****"
    assert decoded["holder"]["name_zh"] == "阮**"
    assert decoded["emails"] == ["h***@employer.example"]
    assert decoded["phone"] == "*********78"
    assert decoded["region"] == "beijing"
    assert decoded["certificate"]["issued_on"] == "2023-09-27"
    assert uuid.UUID(decoded["request_id"])


def test_a_payload_that_is_not_json_is_not_shown() -> None:
    preview = masked_preview(b"Kenji Nguyen E12345678 \xff")
    assert "Kenji" not in preview and DOCUMENT not in preview
    assert "not JSON" in preview and "24 bytes" in preview


def test_names_are_masked_word_by_word() -> None:
    assert mask_name("Kenji Nguyen") == "K**** N*****"
    assert mask_name("张") == "张"


def requested() -> VerificationRequested:
    return VerificationRequested(
        request_id=uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="beijing",
        qualification_id="aws-e94e5145",
        body_ids=["aws"],
        holder=HolderClaim(name="Kenji Nguyen", nationality="CHN", holder_ref="ref"),
        certificate=CertificateClaim(number=CERTIFICATE, issued_on=date(2023, 9, 27)),
    )


def parked_as_the_runtime_parks(
    event: VerificationRequested, reason: str = "handler kept failing"
) -> ParkedRecord:
    """The dead-letter record `EventConsumer._dead_letter` writes, signed by the verifier."""
    value, headers = signed(event, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    parking = [
        *((f"source-{n}" if n in SIGNATURE_HEADERS else n, c) for n, c in headers),
        ("dead-letter-reason", reason.encode()),
        ("dead-letter-group", b"verifier"),
        ("dead-letter-error", b"ValueError"),
        ("source-topic", event.topic.name.encode()),
        ("source-offset", b"4:1234"),
    ]
    topic = f"{event.topic.name}.dlq"
    final = EventKeys.load("verifier").signer.signed_headers(topic, event.key(), value, parking)
    return ParkedRecord(topic, 0, 7, datetime.now(UTC), event.key(), value, tuple(final))


def test_a_replay_restores_the_producers_signature_and_drops_the_parking() -> None:
    event = requested()
    record = parked_as_the_runtime_parks(event)
    replay = record.replay()
    assert (replay.topic, replay.partition) == ("verification.requested.v1", 4)
    value, original = signed(event, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01")
    assert replay.value == value and replay.key == event.key()
    assert sorted(replay.headers) == sorted(original)
    trusted = EventKeys.load("intake").trusted
    trusted.authenticate(replay.topic, replay.key, replay.value, replay.headers)  # no raise


def test_the_parking_details_are_read_and_an_error_text_is_masked() -> None:
    record = parked_as_the_runtime_parks(
        requested(), "undecodable: 1 validation error, input_value={'name': 'Kenji Nguyen'}"
    )
    assert record.reason_kind == "undecodable"
    assert "Kenji" not in record.reason_detail
    assert record.parked_by == "verifier"
    assert record.source_position == (4, 1234)
    shown = dict(record.shown_headers())
    assert "Kenji" not in shown["dead-letter-reason"]
    assert shown["event-type"] == "VerificationRequested"
    assert CERTIFICATE not in record.preview()


def test_a_record_without_its_original_signature_is_not_replayable() -> None:
    record = parked_as_the_runtime_parks(requested())
    unsigned = ParkedRecord(
        record.topic,
        record.partition,
        record.offset,
        record.timestamp,
        record.key,
        record.value,
        tuple(h for h in record.headers if not h[0].startswith("source-qv-")),
    )
    with pytest.raises(NotReplayable):
        unsigned.replay()
    nameless = ParkedRecord(
        record.topic, 0, 1, record.timestamp, None, b"{}", (("event-type", b"X"),)
    )
    with pytest.raises(NotReplayable):
        nameless.replay()


def test_encode_is_what_the_preview_reads() -> None:
    value, _ = encode(requested())
    assert CERTIFICATE not in masked_preview(value)


# Document and certificate numbers as the platform meets them: resident IDs (17 digits and a
# check character), passports (a letter or two and 7-9 digits), certificate numbers (a prefix,
# a dash and digits).
DOCUMENT_NUMBERS = st.one_of(
    st.from_regex(r"\A[1-9]\d{16}[\dX]\Z"),
    st.from_regex(r"\A[A-Z]{1,2}\d{7,9}\Z"),
    st.from_regex(r"\A[A-Z]{2,5}-\d{6,10}\Z"),
)
FIELDS = st.sampled_from(
    ["document_number", "number", "certificate_number", "note", "comment", "reason", "x"]
)
WORDS = st.text(alphabet=st.characters(categories=["L", "Zs"]), max_size=20)


@given(number=DOCUMENT_NUMBERS, field=FIELDS, before=WORDS, after=WORDS, nested=st.booleans())
def test_a_document_number_never_survives_the_preview(
    number: str, field: str, before: str, after: str, nested: bool
) -> None:
    """Wherever it stands (its own field, inside free text of any field, nested or in a list),
    the number is not in the preview, not even with its punctuation changed."""
    value = f"{before} {number} {after}" if field not in ("document_number", "number") else number
    body: dict[str, object] = {field: value, "list": [value]}
    payload = json.dumps({"holder": body} if nested else body).encode()
    preview = masked_preview(payload)
    assert number not in preview
    assert number.replace("-", "") not in preview.replace("-", "")
