"""Request status after a verdict, and the expected completion time."""

from datetime import UTC, datetime, timedelta

import pytest

from services.contracts.events import Verdict
from services.intake.domain.lifecycle import (
    FINAL,
    Status,
    estimate_completion,
    status_after_verdict,
)

ACCEPTED_AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        (Verdict.AUTHENTIC, Status.AUTHENTIC),
        (Verdict.NOT_AUTHENTIC, Status.NOT_AUTHENTIC),
        (Verdict.UNABLE_TO_VERIFY, Status.UNABLE_TO_VERIFY),
        (Verdict.NEEDS_REVIEW, Status.NEEDS_REVIEW),
    ],
)
def test_status_after_each_verdict(verdict: Verdict, status: Status) -> None:
    assert status_after_verdict(verdict) == status


def test_every_verdict_has_a_status() -> None:
    assert {status_after_verdict(v) for v in Verdict} == {
        Status.AUTHENTIC,
        Status.NOT_AUTHENTIC,
        Status.UNABLE_TO_VERIFY,
        Status.NEEDS_REVIEW,
    }


def test_needs_review_is_not_final_but_decided_verdicts_are() -> None:
    assert Status.NEEDS_REVIEW not in FINAL
    assert {Status.AUTHENTIC, Status.NOT_AUTHENTIC, Status.UNABLE_TO_VERIFY} <= FINAL
    assert Status.ACCEPTED not in FINAL and Status.VERIFYING not in FINAL


def test_completion_is_decided_by_the_slowest_body() -> None:
    turnarounds = [timedelta(seconds=5), timedelta(hours=2), timedelta(minutes=30)]
    assert estimate_completion(ACCEPTED_AT, turnarounds) == ACCEPTED_AT + timedelta(hours=2)


def test_one_body() -> None:
    assert estimate_completion(ACCEPTED_AT, [timedelta(seconds=7)]) == ACCEPTED_AT + timedelta(
        seconds=7
    )


def test_no_bodies_means_the_accepted_time() -> None:
    assert estimate_completion(ACCEPTED_AT, []) == ACCEPTED_AT
