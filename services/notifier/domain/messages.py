"""What employers receive: webhook payloads and the bilingual e-mail text. Pure.

Nothing here carries a holder's name or identity document number: a notification names the
request, its status, the verification code and the reason.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from services.contracts.events import Stage, VerificationConcluded, VerificationProgressed

COMPLETED = "verification.completed"
PROGRESSED = "verification.progressed"

_STATUS_TEXT = {
    "authentic": ("证书真实", "authentic"),
    "not_authentic": ("证书不真实", "not authentic"),
    "unable_to_verify": ("无法核验", "unable to verify"),
    "needs_review": ("需人工复核", "needs review"),
}
_STAGE_TEXT = {
    Stage.VERIFYING: ("正在向颁证机构核验", "being verified with the awarding body"),
    Stage.WAITING_FOR_BODY: (
        "颁证机构响应缓慢或暂不可用，正在等待",
        "waiting: the awarding body is slow or unavailable",
    ),
    Stage.PARKED: ("已向颁证机构发出查询，等待答复", "enquiry sent; awaiting the body's reply"),
}


def completed_payload(conclusion: VerificationConcluded) -> bytes:
    decided_at = conclusion.decided_at.isoformat()
    return orjson.dumps(
        {
            "type": COMPLETED,
            "timestamp": decided_at,
            "data": {
                "request_id": str(conclusion.request_id),
                "status": conclusion.verdict.value,
                "verification_code": conclusion.verification_code,
                "reason": conclusion.reason.model_dump(),
                "checks": [c.model_dump(mode="json") for c in conclusion.checks],
                "decided_at": decided_at,
            },
        }
    )


def progressed_payload(event: VerificationProgressed, previous_expected: datetime | None) -> bytes:
    return orjson.dumps(
        {
            "type": PROGRESSED,
            "timestamp": event.occurred_at.isoformat(),
            "data": {
                "request_id": str(event.request_id),
                "stage": event.stage.value,
                "expected_completion_at": _iso(event.expected_completion_at),
                "previous_expected_completion_at": _iso(previous_expected),
                "note": None if event.note is None else event.note.model_dump(),
            },
        }
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class EmailText:
    subject: str
    body: str


def email_of(payload: bytes) -> EmailText:
    """The e-mail for a webhook payload, in Chinese then English."""
    message: dict[str, Any] = orjson.loads(payload)
    data: dict[str, Any] = message["data"]
    if message["type"] == COMPLETED:
        return _completed_email(data)
    return _progressed_email(data)


def _completed_email(data: dict[str, Any]) -> EmailText:
    zh, en = _STATUS_TEXT.get(data["status"], (data["status"], data["status"]))
    code = data.get("verification_code")
    reason = data.get("reason") or {}
    lines = [
        f"核验申请 {data['request_id']} 已完成：{zh}。",
        f"核验码：{code}" if code else "无核验码。",
        f"说明：{reason.get('zh', '')}",
        "核验结果仅确认证书本身，不代表持证人的实际能力。",
        "",
        f"Verification request {data['request_id']} is complete: {en}.",
        f"Verification code: {code}" if code else "No verification code was issued.",
        f"Reason: {reason.get('en', '')}",
        "The result confirms the certificate only, not the holder's actual competence.",
    ]
    subject = f"核验结果 Verification result: {en} ({data['request_id']})"
    return EmailText(subject, "\n".join(lines) + "\n")


def _progressed_email(data: dict[str, Any]) -> EmailText:
    zh, en = _STAGE_TEXT.get(Stage(data["stage"]), (data["stage"], data["stage"]))
    expected = data.get("expected_completion_at") or "—"
    lines = [
        f"核验申请 {data['request_id']}：{zh}。",
        f"预计完成时间（UTC）：{expected}",
        "",
        f"Verification request {data['request_id']}: {en}.",
        f"Expected completion (UTC): {expected}",
    ]
    subject = f"核验进度 Verification progress ({data['request_id']})"
    return EmailText(subject, "\n".join(lines) + "\n")
