"""Verdicts as the verifier publishes them, for the runtime's tests."""

import uuid
from datetime import UTC, datetime

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Verdict,
    VerdictReached,
)


def verdict(request_id: uuid.UUID | None = None) -> VerdictReached:
    return VerdictReached(
        request_id=request_id or uuid.uuid4(),
        employer_id=uuid.uuid4(),
        region="beijing",
        qualification_id="aws-e94e5145",
        holder_ref="a" * 64,
        verdict=Verdict.NOT_AUTHENTIC,
        reason=LocalizedText(zh="颁证机构查无此证", en="The awarding body has no such record"),
        checks=[CheckResult(body_id="aws", check="record", outcome=CheckOutcome.FAILED)],
        decided_at=datetime.now(UTC),
    )
