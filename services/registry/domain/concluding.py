"""What the registry makes of a verdict (pure): the code to issue for an authentic one, the
record of the finished verification for the employer side, and the minimal outcome for the
regions."""

from services.contracts.events import (
    OutcomePublished,
    Verdict,
    VerdictReached,
    VerificationConcluded,
)
from services.registry.domain.codes import mask_name
from services.registry.domain.verifications import IssueRequest, Verification, new_issue_request


def issue_request_of(verdict: VerdictReached) -> IssueRequest:
    """The code's record of an authentic verdict, keeping only the masked name (the holder is
    identified by the pseudonymous reference). InvalidField when a field is missing or bad."""
    return new_issue_request(
        request_id=str(verdict.request_id),
        qualification_id=verdict.qualification_id,
        # The bodies that were asked, in the order the verifier checked them.
        body_ids=list(dict.fromkeys(check.body_id for check in verdict.checks)),
        holder_ref=verdict.holder_ref,
        holder_name=mask_name(verdict.holder_name or ""),
        region=verdict.region,
        employer_id=str(verdict.employer_id),
        verified_at=verdict.decided_at,
    )


def is_authentic(verdict: VerdictReached) -> bool:
    return verdict.verdict == Verdict.AUTHENTIC


def concluded(verdict: VerdictReached, issued: Verification | None) -> VerificationConcluded:
    """The verdict as the employer side learns it: with the code and statement of an authentic
    one (the holder's name stays on the code's record, masked)."""
    return VerificationConcluded(
        **verdict.model_dump(exclude={"event_id", "occurred_at", "holder_name"}),
        verification_code=str(issued.code) if issued else None,
        statement=issued.statement if issued else None,
    )


def outcome_of(conclusion: VerificationConcluded) -> OutcomePublished:
    """What the regional systems receive: no more than they need."""
    return OutcomePublished(
        request_id=conclusion.request_id,
        region=conclusion.region,
        qualification_id=conclusion.qualification_id,
        holder_ref=conclusion.holder_ref,
        verdict=conclusion.verdict,
        verification_code=conclusion.verification_code,
        decided_at=conclusion.decided_at,
    )
