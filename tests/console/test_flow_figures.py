"""The flow's figures as PostgreSQL measures them from the projection (funnel, hops, answer
times, arrivals per slot) agree with the domain's rule for each request."""

import os
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from services.console.domain.flow import FUNNEL, FlowStage, Percentiles
from services.console.store.projection import Projection
from services.console.store.sealed_names import NameBox
from services.contracts.events import (
    BodyContact,
    CertificateClaim,
    Event,
    HolderClaim,
    LocalizedText,
    OutcomePublished,
    Stage,
    Verdict,
    VerdictReached,
    VerificationProgressed,
    VerificationRequested,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
START = NOW - timedelta(hours=1)


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def request_events(
    accepted: float,
    *,
    waiting: float | None = None,
    parked: float | None = None,
    decided: float | None = None,
    notified: float | None = None,
    bodies: tuple[str, ...] = ("aws",),
    answer_seconds: float = 10.0,
) -> list[Event]:
    request_id, employer = uuid.uuid4(), uuid.uuid4()
    events: list[Event] = [
        VerificationRequested(
            request_id=request_id,
            employer_id=employer,
            region="hebei",
            qualification_id="aws-e94e5145",
            body_ids=list(bodies),
            holder=HolderClaim(name="Mei Lin", nationality="CHN", holder_ref="ref"),
            certificate=CertificateClaim(number="AWS-1", issued_on=date(2024, 1, 1)),
            occurred_at=at(accepted),
        )
    ]
    for stage, moment in (
        (Stage.WAITING_FOR_BODY, waiting),
        (Stage.PARKED, parked),
    ):
        if moment is not None:
            events.append(
                VerificationProgressed(
                    request_id=request_id,
                    employer_id=employer,
                    stage=stage,
                    expected_completion_at=at(moment) + timedelta(seconds=20),
                    occurred_at=at(moment),
                )
            )
    if decided is not None:
        events.append(
            VerdictReached(
                request_id=request_id,
                employer_id=employer,
                region="hebei",
                qualification_id="aws-e94e5145",
                holder_ref="ref",
                verdict=Verdict.AUTHENTIC,
                reason=LocalizedText(zh="真实", en="authentic"),
                checks=[],
                decided_at=at(decided),
                contacts=[
                    BodyContact(body_id=b, channel="api", seconds=answer_seconds) for b in bodies
                ],
            )
        )
    if notified is not None:
        events.append(
            OutcomePublished(
                request_id=request_id,
                region="hebei",
                qualification_id="aws-e94e5145",
                holder_ref="ref",
                verdict=Verdict.AUTHENTIC,
                verification_code=None,
                decided_at=at(decided or notified),
                occurred_at=at(notified),
            )
        )
    return events


@pytest.fixture(scope="module")
async def projection(console_pool: asyncpg.Pool) -> Projection:
    projection = Projection(console_pool, NameBox(os.urandom(32)))
    scenario = [
        request_events(5),
        request_events(10),
        request_events(30, waiting=29),
        request_events(40, parked=38, decided=20, answer_seconds=1200.0),
        request_events(50, decided=48, notified=47, answer_seconds=60.0),
        request_events(20, bodies=("cfa", "pmi")),  # a joint award, not decided yet
        # Accepted before the window: not counted, though decided in it.
        request_events(120, decided=30),
    ]
    await projection.apply([event for events in scenario for event in events])
    return projection


async def test_the_funnel_counts_each_request_by_the_domains_rule(projection: Projection) -> None:
    counts = await projection.funnel(START)
    flows = await projection.accepted_since(START, 100)
    assert len(flows) == 6
    assert counts.current == {stage: Counter(f.current for f in flows)[stage] for stage in FUNNEL}
    reached = Counter(stage for f in flows for stage, _ in f.reached())
    assert counts.reached == {stage: reached[stage] for stage in FUNNEL}
    assert [counts.reached[s] for s in FUNNEL] == [6, 2, 2, 1]


async def test_hops_between_consecutive_stages_with_latency(projection: Projection) -> None:
    found = {(h.source, h.target): h for h in await projection.hops(START, NOW)}
    assert set(found) == {
        (FlowStage.ACCEPTED, FlowStage.WAITING_FOR_BODY),
        (FlowStage.WAITING_FOR_BODY, FlowStage.DECIDED),  # parked, then decided
        (FlowStage.ACCEPTED, FlowStage.DECIDED),  # never waited
        (FlowStage.DECIDED, FlowStage.NOTIFIED),
    }
    waited = found[(FlowStage.ACCEPTED, FlowStage.WAITING_FOR_BODY)]
    assert waited.count == 2
    # 60 s and 120 s: linear interpolation between the closest ranks.
    assert waited.latency.p50 == pytest.approx(90.0)
    assert waited.latency.p99 == pytest.approx(119.4)
    assert found[(FlowStage.WAITING_FOR_BODY, FlowStage.DECIDED)].latency.p50 == 1080.0
    assert found[(FlowStage.ACCEPTED, FlowStage.DECIDED)].latency.p50 == 120.0
    assert found[(FlowStage.DECIDED, FlowStage.NOTIFIED)].latency == Percentiles(60.0, 60.0, 60.0)
    narrow = {(h.source, h.target) for h in await projection.hops(at(6), NOW)}
    assert narrow == set()  # what moved on since then was accepted before


async def test_answer_times_per_body(projection: Projection) -> None:
    bodies = {(b.body_id, b.channel): b for b in await projection.bodies(START)}
    aws = bodies[("aws", "api")]
    assert aws.answers == 3  # decided in the window, the early request's too
    assert aws.p50 == pytest.approx(60.0)
    assert aws.p90 == pytest.approx(972.0)


async def test_arrivals_per_slot(projection: Projection) -> None:
    arrivals = await projection.arrivals(START, 600)
    total = Counter[FlowStage]()
    for (stage, _slot), count in arrivals.items():
        total[stage] += count
    assert dict(total) == {
        FlowStage.ACCEPTED: 6,
        FlowStage.WAITING_FOR_BODY: 2,
        FlowStage.DECIDED: 2,  # of the requests accepted in the window, as the funnel
        FlowStage.NOTIFIED: 1,
    }
    slot = int(at(5).timestamp()) // 600
    assert arrivals[(FlowStage.ACCEPTED, slot)] >= 1
