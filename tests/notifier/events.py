"""Events as the notifier receives them, for its tests."""

import base64
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    EmployerWebhooksConfigured,
    LocalizedText,
    Stage,
    Verdict,
    VerificationConcluded,
    VerificationProgressed,
    WebhookEndpoint,
)
from services.runtime.secret_box import SecretBox

BOX = SecretBox.from_env()  # the development key, as intake seals with it in the tests


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def configured(
    employer_id: UUID,
    endpoints: dict[str, str],
    emails: list[str] | None = None,
    at: datetime | None = None,
) -> EmployerWebhooksConfigured:
    return EmployerWebhooksConfigured(
        employer_id=employer_id,
        endpoints=[
            WebhookEndpoint(url=url, sealed_secret=BOX.seal(secret, employer_id, url))
            for url, secret in endpoints.items()
        ],
        emails=emails,
        occurred_at=at or datetime.now(UTC),
    )


def concluded(employer_id: UUID, request_id: UUID | None = None) -> VerificationConcluded:
    """The registry's record of an authentic verdict, with its code."""
    return VerificationConcluded(
        request_id=request_id or uuid4(),
        employer_id=employer_id,
        region="beijing",
        qualification_id="aws-e94e5145",
        holder_ref="a" * 64,
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="颁证机构确认证书", en="The awarding body confirmed it"),
        checks=[CheckResult(body_id="aws", check="record", outcome=CheckOutcome.PASSED)],
        verification_code="0EEN-2D2S-MS4A-PSD0-X",
        decided_at=datetime.now(UTC),
    )


def progressed(
    employer_id: UUID,
    request_id: UUID,
    stage: Stage,
    expected_in: timedelta | None,
    at: datetime | None = None,
) -> VerificationProgressed:
    now = at or datetime.now(UTC)
    return VerificationProgressed(
        request_id=request_id,
        employer_id=employer_id,
        stage=stage,
        expected_completion_at=None if expected_in is None else now + expected_in,
        occurred_at=now,
    )
