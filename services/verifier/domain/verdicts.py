"""From each awarding body's answer to one verdict, with machine-readable checks. Pure.

Fail closed: whatever could not be checked can never make a certificate authentic.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.contracts.events import CheckOutcome, CheckResult, LocalizedText, Verdict
from services.verifier.domain.names import NameMatch, compare_names


class BodyStatus(StrEnum):
    CONFIRMED = "confirmed"
    NOT_FOUND = "not_found"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SIGNATURE_INVALID = "signature_invalid"  # a signed credential the body did not sign as is
    PENDING = "pending"  # an enquiry was sent; the body answers later
    UNREACHABLE = "unreachable"  # could not be checked: outage, timeout, malformed answer


@dataclass(frozen=True)
class BodyAnswer:
    body_id: str
    channel: str
    status: BodyStatus
    registered_name: str | None = None
    expires_on: date | None = None
    detail: str = ""
    asked: str = ""  # what was asked, for the evidence record
    answer_digest: str | None = None  # SHA-256 of the body's raw answer


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: LocalizedText
    checks: list[CheckResult]


_REASONS = {
    Verdict.AUTHENTIC: LocalizedText(
        zh="所有颁发机构均确认证书真实有效", en="Every awarding body confirmed the certificate"
    ),
    BodyStatus.NOT_FOUND: LocalizedText(
        zh="颁发机构未查到该证书", en="The awarding body has no record of the certificate"
    ),
    BodyStatus.REVOKED: LocalizedText(
        zh="颁发机构已撤销该证书", en="The awarding body has revoked the certificate"
    ),
    BodyStatus.EXPIRED: LocalizedText(zh="证书已过期", en="The certificate has expired"),
    BodyStatus.SIGNATURE_INVALID: LocalizedText(
        zh="电子证书签名无效，并非颁发机构签发的原件",
        en="The signature of the digital credential is invalid",
    ),
    BodyStatus.UNREACHABLE: LocalizedText(
        zh="无法联系颁发机构完成核验", en="An awarding body could not be reached to verify"
    ),
    NameMatch.DIFFERENT: LocalizedText(
        zh="证书登记姓名与申请姓名不符", en="The name on record differs from the holder's name"
    ),
    NameMatch.UNCERTAIN: LocalizedText(
        zh="姓名匹配不确定，需人工复核",
        en="The name match is uncertain and needs review",
    ),
}


def decide(answers: list[BodyAnswer], claimed_name: str) -> Decision:
    checks = [check for answer in answers for check in _checks_of(answer, claimed_name)]
    failed = [c for c in checks if c.outcome == CheckOutcome.FAILED]
    unchecked = [c for c in checks if c.outcome == CheckOutcome.COULD_NOT_CHECK]
    statuses = {a.status for a in answers}
    if not answers:  # no body was asked, so nothing was confirmed
        return Decision(Verdict.UNABLE_TO_VERIFY, _REASONS[BodyStatus.UNREACHABLE], checks)
    if _bodies_disagree(statuses):
        return Decision(Verdict.NEEDS_REVIEW, DISAGREEMENT, checks)
    if failed:
        return Decision(Verdict.NOT_AUTHENTIC, _failure_reason(answers, claimed_name), checks)
    if unchecked:
        return Decision(Verdict.UNABLE_TO_VERIFY, _REASONS[BodyStatus.UNREACHABLE], checks)
    if any(_name_match(a, claimed_name) == NameMatch.UNCERTAIN for a in answers):
        return Decision(Verdict.NEEDS_REVIEW, _REASONS[NameMatch.UNCERTAIN], checks)
    assert statuses == {BodyStatus.CONFIRMED}
    return Decision(Verdict.AUTHENTIC, _REASONS[Verdict.AUTHENTIC], checks)


DISAGREEMENT = LocalizedText(
    zh="各颁发机构的答复不一致，需人工复核",
    en="The awarding bodies disagree: some confirm the certificate, others have no record of it",
)


def _bodies_disagree(statuses: set[BodyStatus]) -> bool:
    """Joint awards: one body confirms while another has no record. A revocation or an
    expiry is decisive on its own, so it is not a disagreement."""
    return BodyStatus.CONFIRMED in statuses and BodyStatus.NOT_FOUND in statuses


def _name_match(answer: BodyAnswer, claimed_name: str) -> NameMatch | None:
    if answer.status != BodyStatus.CONFIRMED or answer.registered_name is None:
        return None
    return compare_names(claimed_name, answer.registered_name).match


def _checks_of(answer: BodyAnswer, claimed_name: str) -> list[CheckResult]:
    def result(check: str, outcome: CheckOutcome, reason: str) -> CheckResult:
        return CheckResult(body_id=answer.body_id, check=check, outcome=outcome, reason=reason)

    if answer.status == BodyStatus.UNREACHABLE:
        return [result("record", CheckOutcome.COULD_NOT_CHECK, answer.detail or "unreachable")]
    if answer.status == BodyStatus.PENDING:
        return [result("record", CheckOutcome.COULD_NOT_CHECK, "awaiting the body's answer")]
    if answer.status != BodyStatus.CONFIRMED:
        reason = answer.status.value + (f": {answer.detail}" if answer.detail else "")
        return [result("record", CheckOutcome.FAILED, reason)]
    checks = [result("record", CheckOutcome.PASSED, f"confirmed via {answer.channel}")]
    if answer.registered_name is None:
        checks.append(result("name", CheckOutcome.COULD_NOT_CHECK, "body returned no name"))
        return checks
    comparison = compare_names(claimed_name, answer.registered_name)
    outcome = {
        NameMatch.SAME: CheckOutcome.PASSED,
        NameMatch.UNCERTAIN: CheckOutcome.PASSED,
        NameMatch.DIFFERENT: CheckOutcome.FAILED,
    }[comparison.match]
    checks.append(result("name", outcome, comparison.explanation))
    return checks


def _failure_reason(answers: list[BodyAnswer], claimed_name: str) -> LocalizedText:
    for status in (
        BodyStatus.SIGNATURE_INVALID,
        BodyStatus.REVOKED,
        BodyStatus.NOT_FOUND,
        BodyStatus.EXPIRED,
    ):
        if any(a.status == status for a in answers):
            return _REASONS[status]
    return _REASONS[NameMatch.DIFFERENT]
