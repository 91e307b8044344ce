"""The flow of verifications: a request's stage, the funnel, hops and turnaround from the
store's figures, what is stuck and why, and the requests behind a number."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.console.domain.flow import (
    FUNNEL,
    BodyFigures,
    FlowStage,
    FunnelCounts,
    HopFigures,
    Note,
    Percentiles,
    RequestFlow,
    StuckReason,
    StuckRules,
    body_turnaround,
    funnel,
    hops,
    in_stage,
    stuck,
    summarize,
    through_hop,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW_START = NOW - timedelta(hours=1)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def flow(**fields: object) -> RequestFlow:
    return RequestFlow(request_id=uuid4(), **fields)  # type: ignore[arg-type]


ACCEPTED = flow(accepted_at=at(5))
WAITING = flow(
    accepted_at=at(30),
    waiting_at=at(29),
    stage="waiting_for_body",
    body_ids=("aws",),
)
PARKED_THEN_DECIDED = flow(accepted_at=at(40), parked_at=at(38), stage="parked", decided_at=at(20))
NOTIFIED = flow(accepted_at=at(50), decided_at=at(48), notified_at=at(47))
FLOWS = [ACCEPTED, WAITING, PARKED_THEN_DECIDED, NOTIFIED]


def test_current_stage_follows_the_furthest_fact() -> None:
    assert [f.current for f in FLOWS] == [
        FlowStage.ACCEPTED,
        FlowStage.WAITING_FOR_BODY,
        FlowStage.DECIDED,
        FlowStage.NOTIFIED,
    ]
    # A verdict seen before any progress still counts as decided.
    assert flow(decided_at=at(1)).current is FlowStage.DECIDED
    # The verifier no longer says when it takes a request on: an old "verifying" progress
    # leaves the request accepted.
    assert flow(accepted_at=at(1), stage="verifying").current is FlowStage.ACCEPTED


COUNTS = FunnelCounts(
    reached=dict(zip(FUNNEL, [5, 2, 2, 1], strict=True)),
    current=dict.fromkeys(FUNNEL, 1),
)


def test_funnel_with_shares_of_the_accepted() -> None:
    steps = {s.stage: s for s in funnel(COUNTS)}
    assert [steps[s].reached for s in FlowStage] == [5, 2, 2, 1]
    assert [steps[s].current for s in FlowStage] == [1, 1, 1, 1]
    assert steps[FlowStage.WAITING_FOR_BODY].share == pytest.approx(0.4)
    assert steps[FlowStage.NOTIFIED].share == pytest.approx(0.2)


def test_empty_funnel_has_no_shares() -> None:
    empty = funnel(FunnelCounts({}, {}))
    assert all(step.reached == 0 and step.share is None for step in empty)


def test_hops_in_the_funnels_order_with_their_rate() -> None:
    latency = Percentiles(1.0, 2.0, 3.0)
    figures = [
        HopFigures(FlowStage.DECIDED, FlowStage.NOTIFIED, 30, latency),
        HopFigures(FlowStage.ACCEPTED, FlowStage.WAITING_FOR_BODY, 120, latency),
        HopFigures(FlowStage.ACCEPTED, FlowStage.DECIDED, 60, latency),
    ]
    found = hops(figures, WINDOW_START, NOW)
    assert [h.key for h in found] == [
        "accepted-waiting_for_body",
        "accepted-decided",
        "decided-notified",
    ]
    assert [h.per_minute for h in found] == [2.0, 1.0, 0.5]
    assert found[0].latency == latency


def test_body_turnaround_against_the_verifiers_promise() -> None:
    figures = [
        BodyFigures("pmi", "register", 1, 2.0, 2.0),
        BodyFigures("aws", "signed_credential", 5, 3.0, 25.6),
        BodyFigures("cfa", "email", 1, 30.0, 30.0),
    ]
    found = body_turnaround(figures, {"aws": 5.0, "cfa": 30.0})
    assert [b.body_id for b in found] == ["aws", "cfa", "pmi"]
    aws, cfa, pmi = found
    assert aws.expected_seconds == 5.0 and aws.slower_than_expected
    assert cfa.expected_seconds == 30.0 and not cfa.slower_than_expected
    assert pmi.expected_seconds is None and not pmi.slower_than_expected


def test_stuck_lists_what_is_past_its_expected_time_with_why() -> None:
    rules = StuckRules(pickup_seconds=120, notify_seconds=60)
    note = Note(zh="颁发机构暂时无法访问", en="An awarding body is down")
    waiting = flow(
        accepted_at=at(30),
        waiting_at=at(28),
        stage="waiting_for_body",
        stage_note=note,
        body_ids=("aws",),
        expected_completion_at=at(10),
    )
    not_taken_on = flow(accepted_at=at(3))
    decided_not_notified = flow(accepted_at=at(5), decided_at=at(4))
    on_time = [
        flow(accepted_at=at(1)),  # within the pickup time
        flow(accepted_at=at(5), parked_at=at(5), stage="parked", expected_completion_at=at(-1)),
        flow(accepted_at=at(5), decided_at=at(0.5)),  # within the notify time
        flow(accepted_at=at(50), decided_at=at(49), notified_at=at(48)),
        flow(stage="parked"),  # seen only in part: nothing to measure against
    ]
    found = stuck([*on_time, not_taken_on, waiting, decided_not_notified], NOW, rules)
    assert [s.flow for s in found] == [waiting, decided_not_notified, not_taken_on]
    assert [s.reason for s in found] == [
        StuckReason.OVERDUE,
        StuckReason.NOT_NOTIFIED,
        StuckReason.NOT_TAKEN_ON,
    ]
    assert found[0].overdue_seconds == 600.0
    assert found[0].waited_on == ("aws",)
    assert found[0].flow.stage_note == note
    assert found[1].waited_on == ()
    assert found[2].deadline == at(3) + timedelta(seconds=120)


def test_a_verifier_estimate_moved_later_is_not_stuck() -> None:
    # The latest progress (by the time it happened) carries the expected time that counts.
    later = flow(
        accepted_at=at(30), parked_at=at(29), stage="parked", expected_completion_at=at(-60)
    )
    assert stuck([later], NOW) == []


def test_summary_of_the_window() -> None:
    report = summarize(
        COUNTS,
        [HopFigures(FlowStage.ACCEPTED, FlowStage.DECIDED, 4, Percentiles(1, 2, 3))],
        [BodyFigures("aws", "api", 1, 2.0, 2.0)],
        [ACCEPTED, WAITING],
        window_start=WINDOW_START,
        now=NOW,
        promised={"aws": 1.0},
    )
    assert report.requests == 5
    assert [(b.body_id, b.expected_seconds) for b in report.bodies] == [("aws", 1.0)]
    # WAITING waits on a body with no expected time; ACCEPTED waits past the pickup time.
    assert [s.flow for s in report.stuck] == [ACCEPTED]


def test_the_requests_behind_a_stage() -> None:
    assert in_stage(FLOWS, FlowStage.WAITING_FOR_BODY, current=True) == [WAITING]
    assert in_stage(FLOWS, FlowStage.WAITING_FOR_BODY, current=False) == [
        WAITING,
        PARKED_THEN_DECIDED,
    ]


def test_the_requests_behind_a_hop() -> None:
    assert through_hop(FLOWS, FlowStage.ACCEPTED, FlowStage.DECIDED) == [NOTIFIED]
    assert through_hop(FLOWS, FlowStage.WAITING_FOR_BODY, FlowStage.DECIDED) == [
        PARKED_THEN_DECIDED
    ]
    assert through_hop(FLOWS, FlowStage.ACCEPTED, FlowStage.NOTIFIED) == []
