"""Webhook payloads and e-mail text: bilingual, with no personal data. Pure."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import orjson

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Stage,
    Verdict,
    VerificationConcluded,
    VerificationProgressed,
)
from services.notifier.domain.delivery_log import masked_destination
from services.notifier.domain.messages import completed_payload, email_of, progressed_payload
from services.notifier.domain.webhooks import sign, signature_header

DECIDED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def verdict(code: str | None = "0EEN-2D2S-MS4A-PSD0-X") -> VerificationConcluded:
    return VerificationConcluded(
        request_id=uuid4(),
        employer_id=uuid4(),
        region="hebei",
        qualification_id="aws-e94e5145",
        holder_ref="f" * 64,
        verdict=Verdict.AUTHENTIC if code else Verdict.NOT_AUTHENTIC,
        reason=LocalizedText(zh="颁证机构确认证书", en="The awarding body confirmed it"),
        checks=[CheckResult(body_id="aws", check="record", outcome=CheckOutcome.PASSED)],
        verification_code=code,
        decided_at=DECIDED,
    )


def test_completed_email_is_bilingual_and_names_no_holder() -> None:
    event = verdict()
    text = email_of(completed_payload(event))
    assert str(event.request_id) in text.subject
    assert "核验结果" in text.subject and "authentic" in text.subject
    assert "证书真实" in text.body and "is complete: authentic" in text.body
    assert "0EEN-2D2S-MS4A-PSD0-X" in text.body
    assert event.holder_ref not in text.body, "not even the pseudonymous reference"


def test_completed_email_without_code_says_so_in_both_languages() -> None:
    text = email_of(completed_payload(verdict(code=None)))
    assert "无核验码" in text.body and "No verification code" in text.body
    assert "不真实" in text.body and "not authentic" in text.body


def test_progress_payload_carries_old_and_new_estimates() -> None:
    old = DECIDED + timedelta(hours=1)
    event = VerificationProgressed(
        request_id=uuid4(),
        employer_id=uuid4(),
        stage=Stage.WAITING_FOR_BODY,
        expected_completion_at=DECIDED + timedelta(hours=6),
    )
    payload = orjson.loads(progressed_payload(event, old))
    assert payload["type"] == "verification.progressed"
    assert payload["data"]["stage"] == "waiting_for_body"
    assert payload["data"]["previous_expected_completion_at"] == old.isoformat()
    text = email_of(progressed_payload(event, old))
    assert "等待" in text.body and "waiting" in text.body
    assert (DECIDED + timedelta(hours=6)).isoformat() in text.body


def test_each_valid_secret_signs_separately() -> None:
    old = "whsec_" + base64.b64encode(b"o" * 32).decode()
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    header = signature_header([new, old], "msg_1", 1700000000, b"{}")
    assert header.split(" ") == [
        sign(new, "msg_1", 1700000000, b"{}"),
        sign(old, "msg_1", 1700000000, b"{}"),
    ]
    for key in (b"o" * 32, b"n" * 32):
        digest = hmac.new(key, b"msg_1.1700000000.{}", hashlib.sha256).digest()
        assert "v1," + base64.b64encode(digest).decode() in header.split(" ")


def test_the_delivery_log_masks_addresses_and_keeps_webhook_urls() -> None:
    assert masked_destination("email", "mailto:hr.team@example.cn") == "mailto:h***@example.cn"
    assert masked_destination("webhook", "https://hooks.example.cn/qv") == (
        "https://hooks.example.cn/qv"
    )
