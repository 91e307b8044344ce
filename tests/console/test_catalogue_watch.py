"""The catalogue watch: usage per qualification, dormant ones, withdrawals past and scheduled."""

from datetime import UTC, date, datetime

import pytest

from services.console.domain.catalogue_watch import (
    ListedQualification,
    Usage,
    Withdrawal,
    months_before,
    watch,
)

NOW = datetime(2026, 8, 31, 9, 30, tzinfo=UTC)

CATALOGUE = [
    ListedQualification("aws-e94e5145", "AWS Certified Solutions Architect - Professional"),
    ListedQualification("cfa-1", "CFA"),
    ListedQualification("pmp-1", "PMP"),
    ListedQualification("old-1", "Withdrawn last year", date(2025, 12, 1), "no longer awarded"),
    ListedQualification("soon-1", "Withdrawn next month", date(2026, 9, 15), ""),
    ListedQualification("today-1", "Withdrawn today", date(2026, 8, 31), "merged"),
]
USAGE = [
    Usage(
        "aws-e94e5145",
        requests=10,
        decided=8,
        authentic=6,
        regions={"beijing": 7, "hebei": 3},
        last_requested_at=datetime(2026, 8, 30, tzinfo=UTC),
    ),
    # Last asked a day before the six-month cut-off (28 February 2026 09:30).
    Usage(
        "cfa-1",
        requests=2,
        decided=2,
        authentic=0,
        last_requested_at=datetime(2026, 2, 27, tzinfo=UTC),
    ),
    Usage("old-1", requests=1, decided=0, last_requested_at=datetime(2025, 1, 1, tzinfo=UTC)),
]


def test_months_before_keeps_the_day_or_the_months_last() -> None:
    assert months_before(NOW, 6) == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    assert months_before(datetime(2028, 8, 31, tzinfo=UTC), 6) == datetime(2028, 2, 29, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 15, tzinfo=UTC), 14) == datetime(2025, 1, 15, tzinfo=UTC)
    assert months_before(NOW, 0) == NOW


def test_usage_per_qualification() -> None:
    found = {
        q.qualification_id: q
        for q in watch(CATALOGUE, USAGE, now=NOW, dormant_months=6).qualifications
    }
    aws = found["aws-e94e5145"]
    assert (aws.requests, aws.regions) == (10, {"beijing": 7, "hebei": 3})
    assert aws.authentic_rate == pytest.approx(0.75)
    assert found["cfa-1"].authentic_rate == 0.0
    assert found["old-1"].authentic_rate is None  # nothing decided yet
    assert found["pmp-1"].requests == 0 and found["pmp-1"].regions == {}


def test_dormant_flags_in_force_qualifications_unused_since_the_cut_off_or_never() -> None:
    result = watch(CATALOGUE, USAGE, now=NOW, dormant_months=6)
    assert {q.qualification_id for q in result.dormant} == {"cfa-1", "pmp-1", "soon-1"}
    # Asked for within the months: not dormant; withdrawn (today included): not flagged.
    assert result.dormant_since == datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    longer = watch(CATALOGUE, USAGE, now=NOW, dormant_months=7)
    assert {q.qualification_id for q in longer.dormant} == {"pmp-1", "soon-1"}


def test_withdrawals_past_and_scheduled_from_the_registry_and_the_announcements() -> None:
    announced = {
        "soon-1": Withdrawal("soon-1", "", date(2026, 9, 15), "superseded by a new edition"),
        "gone-1": Withdrawal("gone-1", "", date(2026, 1, 1), "no longer listed"),
        # The registry's listing decides: an announcement it does not confirm is left out.
        "pmp-1": Withdrawal("pmp-1", "", date(2026, 5, 1), "announced, then withdrawn again"),
    }
    result = watch(CATALOGUE, USAGE, now=NOW, dormant_months=6, announced=announced)
    assert [(w.qualification_id, w.reason) for w in result.withdrawals_past] == [
        ("today-1", "merged"),
        ("gone-1", "no longer listed"),
        ("old-1", "no longer awarded"),
    ]
    assert [(w.qualification_id, w.name, w.reason) for w in result.withdrawals_scheduled] == [
        ("soon-1", "Withdrawn next month", "superseded by a new edition")
    ]
    found = {q.qualification_id: q for q in result.qualifications}
    assert found["pmp-1"].withdrawal is None
    assert found["soon-1"].withdrawal is not None


def test_most_used_first() -> None:
    result = watch(CATALOGUE, USAGE, now=NOW, dormant_months=6)
    assert [q.qualification_id for q in result.qualifications][:3] == [
        "aws-e94e5145",
        "cfa-1",
        "old-1",
    ]
