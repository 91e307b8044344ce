"""The lifecycle of a verification request and the expected completion time. Pure."""

from datetime import datetime, timedelta
from enum import StrEnum

from services.contracts.events import Verdict


class Status(StrEnum):
    ACCEPTED = "accepted"
    VERIFYING = "verifying"
    AUTHENTIC = "authentic"
    NOT_AUTHENTIC = "not_authentic"
    UNABLE_TO_VERIFY = "unable_to_verify"
    NEEDS_REVIEW = "needs_review"
    REFUSED = "refused"


FINAL = frozenset({Status.AUTHENTIC, Status.NOT_AUTHENTIC, Status.UNABLE_TO_VERIFY, Status.REFUSED})
IN_FLIGHT = frozenset({Status.ACCEPTED, Status.VERIFYING})
"""Not yet decided: a second application for the same certificate returns this one."""

_STATUS_OF_VERDICT = {
    Verdict.AUTHENTIC: Status.AUTHENTIC,
    Verdict.NOT_AUTHENTIC: Status.NOT_AUTHENTIC,
    Verdict.UNABLE_TO_VERIFY: Status.UNABLE_TO_VERIFY,
    Verdict.NEEDS_REVIEW: Status.NEEDS_REVIEW,
}


def status_after_verdict(verdict: Verdict) -> Status:
    return _STATUS_OF_VERDICT[verdict]


def estimate_completion(accepted_at: datetime, body_turnarounds: list[timedelta]) -> datetime:
    """Bodies are contacted in parallel, so the slowest body's turnaround decides."""
    return accepted_at + max(body_turnarounds, default=timedelta(0))
