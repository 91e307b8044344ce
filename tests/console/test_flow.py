"""The flow of verifications, from projected requests: funnel, hops, turnaround, stuck."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.console.domain.flow import (
    Contact,
    FlowStage,
    Note,
    RequestFlow,
    StuckReason,
    StuckRules,
    body_turnaround,
    funnel,
    hops,
    in_stage,
    percentiles,
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
VERIFYING = flow(accepted_at=at(10), verifying_at=at(9.9), stage="verifying")
WAITING = flow(
    accepted_at=at(30),
    verifying_at=at(29.5),
    waiting_at=at(29),
    stage="waiting_for_body",
    body_ids=("aws",),
)
PARKED_THEN_DECIDED = flow(
    accepted_at=at(40), verifying_at=at(39), parked_at=at(38), stage="parked", decided_at=at(20)
)
NOTIFIED = flow(accepted_at=at(50), verifying_at=at(49), decided_at=at(48), notified_at=at(47))
FLOWS = [ACCEPTED, VERIFYING, WAITING, PARKED_THEN_DECIDED, NOTIFIED]


def test_current_stage_follows_the_furthest_fact() -> None:
    assert [f.current for f in FLOWS] == [
        FlowStage.ACCEPTED,
        FlowStage.VERIFYING,
        FlowStage.WAITING_FOR_BODY,
        FlowStage.DECIDED,
        FlowStage.NOTIFIED,
    ]
    # A verdict seen before any progress still counts as decided.
    assert flow(decided_at=at(1)).current is FlowStage.DECIDED


def test_funnel_counts_reached_and_current_with_shares() -> None:
    steps = {s.stage: s for s in funnel(FLOWS)}
    assert [steps[s].reached for s in FlowStage] == [5, 4, 2, 2, 1]
    assert [steps[s].current for s in FlowStage] == [1, 1, 1, 1, 1]
    assert steps[FlowStage.VERIFYING].share == pytest.approx(0.8)
    assert steps[FlowStage.NOTIFIED].share == pytest.approx(0.2)


def test_empty_funnel_has_no_shares() -> None:
    assert all(step.reached == 0 and step.share is None for step in funnel([]))


def test_hops_between_consecutive_stages_with_rate_and_latency() -> None:
    found = {(h.source, h.target): h for h in hops(FLOWS, WINDOW_START, NOW)}
    verifying = found[(FlowStage.ACCEPTED, FlowStage.VERIFYING)]
    assert verifying.count == 4
    assert verifying.per_minute == pytest.approx(4 / 60)
    assert verifying.latency is not None
    assert verifying.latency.p50 == pytest.approx(45.0)  # 6, 30, 60, 60 s
    # A request that waited goes verifying -> waiting -> decided, never verifying -> decided.
    assert found[(FlowStage.WAITING_FOR_BODY, FlowStage.DECIDED)].count == 1
    assert found[(FlowStage.VERIFYING, FlowStage.DECIDED)].count == 1
    assert found[(FlowStage.DECIDED, FlowStage.NOTIFIED)].latency == percentiles([60.0])
    assert hops(FLOWS, WINDOW_START, NOW)[0].key == "accepted-verifying"


def test_hops_completed_before_the_window_are_left_out() -> None:
    old = flow(accepted_at=at(120), verifying_at=at(119), decided_at=at(30))
    found = {(h.source, h.target): h.count for h in hops([old], WINDOW_START, NOW)}
    assert found == {(FlowStage.VERIFYING, FlowStage.DECIDED): 1}


def test_percentiles_stay_within_the_observed_range() -> None:
    values = [float(v) for v in range(1, 101)]
    found = percentiles(values)
    assert found is not None
    assert found.p50 == pytest.approx(50.5)
    assert found.p90 == pytest.approx(90.1)
    assert found.p99 == pytest.approx(99.01)
    assert percentiles([]) is None
    single = percentiles([3.0])
    assert single is not None and single.p99 == 3.0


def test_body_turnaround_against_the_verifiers_promise_or_its_estimates() -> None:
    contacts = [Contact("aws", "signed_credential", float(s), at(1)) for s in (1, 2, 3, 4, 40)]
    contacts += [Contact("cfa", "email", 30.0, at(2)), Contact("pmi", "register", 2.0, at(2))]
    flows = [
        flow(body_ids=("cfa",), promised_seconds=20.0),
        flow(body_ids=("cfa",), promised_seconds=40.0),
        flow(body_ids=("cfa", "pmi"), promised_seconds=900.0),  # a joint award: not the body's
    ]
    found = {b.body_id: b for b in body_turnaround(contacts, flows, {"aws": 5.0})}
    assert found["aws"].answers == 5
    assert found["aws"].p50 == 3.0
    assert (found["aws"].expected_seconds, found["aws"].expected_from) == (5.0, "verifier")
    assert found["aws"].slower_than_expected  # p90 is 25.6 s
    assert (found["cfa"].expected_seconds, found["cfa"].expected_from) == (30.0, "progress")
    assert not found["cfa"].slower_than_expected
    assert found["pmi"].expected_seconds is None and not found["pmi"].slower_than_expected


def test_stuck_lists_what_is_past_its_expected_time_with_why() -> None:
    rules = StuckRules(pickup_seconds=120, notify_seconds=60)
    note = Note(zh="颁发机构暂时无法访问", en="An awarding body is down")
    waiting = flow(
        accepted_at=at(30),
        verifying_at=at(29),
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
        flow(accepted_at=at(5), verifying_at=at(5), expected_completion_at=at(-1)),
        flow(accepted_at=at(5), decided_at=at(0.5)),  # within the notify time
        flow(accepted_at=at(50), decided_at=at(49), notified_at=at(48)),
        flow(stage="verifying"),  # seen only in part: nothing to measure against
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
        accepted_at=at(30), verifying_at=at(29), stage="parked", expected_completion_at=at(-60)
    )
    assert stuck([later], NOW) == []


def test_summary_over_a_window_and_the_requests_behind_a_number() -> None:
    old = flow(accepted_at=at(90), verifying_at=at(89))
    report = summarize(
        [*FLOWS, old],
        [Contact("aws", "api", 2.0, at(1)), Contact("aws", "api", 9.0, at(70))],
        [ACCEPTED, VERIFYING, old],
        window_start=WINDOW_START,
        now=NOW,
    )
    assert report.requests == 5
    assert report.funnel[0].reached == 5
    assert [(b.body_id, b.answers) for b in report.bodies] == [("aws", 1)]
    # `old` was taken on and has no expected time; ACCEPTED waits longer than the pickup time.
    assert [s.flow for s in report.stuck] == [ACCEPTED]
    assert in_stage(FLOWS, FlowStage.WAITING_FOR_BODY, current=True) == [WAITING]
    assert in_stage(FLOWS, FlowStage.WAITING_FOR_BODY, current=False) == [
        WAITING,
        PARKED_THEN_DECIDED,
    ]


def test_the_requests_behind_a_hop() -> None:
    assert through_hop(FLOWS, FlowStage.VERIFYING, FlowStage.DECIDED) == [NOTIFIED]
    assert through_hop(FLOWS, FlowStage.WAITING_FOR_BODY, FlowStage.DECIDED) == [
        PARKED_THEN_DECIDED
    ]
    assert through_hop(FLOWS, FlowStage.ACCEPTED, FlowStage.DECIDED) == []
