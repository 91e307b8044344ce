"""The flow watch on real PostgreSQL: the report over a window, the requests behind a number,
the stuck gauge, opening one request (the name unmasked for an operator, audited; masked for
a viewer, who leaves no entry) and the verifier's promises or their absence."""

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.console.domain.bodies import Bilingual, BodiesReport, VerifierUnavailable
from services.console.domain.flow import FlowStage, StuckReason, StuckRules
from services.console.domain.roles import Operator, Role
from services.console.store.audit import AuditLog
from services.console.store.projection import Projection
from services.console.store.sealed_names import NameBox
from services.console.usecases.flow import FlowWatch
from services.contracts.events import (
    BodyContact,
    CertificateClaim,
    HolderClaim,
    LocalizedText,
    Stage,
    Verdict,
    VerdictReached,
    VerificationProgressed,
    VerificationRequested,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ALICE = Operator("alice", "Alice", Role.OPERATOR)
VICTOR = Operator("victor", "Victor", Role.VIEWER)


def requested(request_id: uuid.UUID, at: datetime, body: str = "aws") -> VerificationRequested:
    return VerificationRequested(
        request_id=request_id,
        employer_id=uuid.uuid4(),
        region="hebei",
        qualification_id="aws-e94e5145",
        body_ids=[body],
        holder=HolderClaim(name="Mei Lin", nationality="CHN", holder_ref="ref"),
        certificate=CertificateClaim(number="AWS-1", issued_on=date(2024, 1, 1)),
        occurred_at=at,
    )


class Promises:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def bodies(self) -> BodiesReport:
        if self.fail:
            raise VerifierUnavailable(Bilingual(en="down", zh="不可用"))
        return BodiesReport("verifier-1", NOW, 300.0, ())


@pytest.fixture
async def projection(console_pool: asyncpg.Pool) -> Projection:
    await console_pool.execute("TRUNCATE flow_requests, flow_events, flow_contacts")
    return Projection(console_pool, NameBox(os.urandom(32)))


async def test_report_numbers_and_what_lies_behind_them(
    projection: Projection, console_pool: asyncpg.Pool
) -> None:
    done, waiting, fresh = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    employer = uuid.uuid4()
    await projection.apply(
        [
            requested(done, NOW - timedelta(minutes=20)),
            VerdictReached(
                request_id=done,
                employer_id=employer,
                region="hebei",
                qualification_id="aws-e94e5145",
                holder_ref="ref",
                verdict=Verdict.AUTHENTIC,
                reason=LocalizedText(zh="真实", en="authentic"),
                checks=[],
                decided_at=NOW - timedelta(minutes=19),
                contacts=[BodyContact(body_id="aws", channel="signed_credential", seconds=12.0)],
            ),
            requested(waiting, NOW - timedelta(minutes=10)),
            VerificationProgressed(
                request_id=waiting,
                employer_id=employer,
                stage=Stage.WAITING_FOR_BODY,
                expected_completion_at=NOW - timedelta(minutes=5),
                note=LocalizedText(zh="机构不可用", en="A body is down"),
                occurred_at=NOW - timedelta(minutes=9),
            ),
            requested(fresh, NOW - timedelta(seconds=30)),
        ]
    )
    watch = FlowWatch(
        projection,
        AuditLog(console_pool),
        Promises(),
        max_rows=1000,
        rules=StuckRules(pickup_seconds=120, notify_seconds=60),
        clock=lambda: NOW,
    )
    view = await watch.view(timedelta(hours=1))
    assert view.report.requests == 3
    assert [(s.stage, s.reached) for s in view.report.funnel] == [
        (FlowStage.ACCEPTED, 3),
        (FlowStage.WAITING_FOR_BODY, 1),
        (FlowStage.DECIDED, 1),
        (FlowStage.NOTIFIED, 0),
    ]
    # `done` is decided and not published for 19 minutes; `waiting` is past its expected time.
    assert [(s.flow.request_id, s.reason) for s in view.report.stuck] == [
        (done, StuckReason.NOT_NOTIFIED),
        (waiting, StuckReason.OVERDUE),
    ]
    assert REGISTRY.get_sample_value("qv_verifications_stuck") == 2
    assert [(b.body_id, b.p50, b.expected_seconds) for b in view.report.bodies] == [
        ("aws", 12.0, None)  # the verifier promised nothing for it
    ]
    behind = await watch.behind(timedelta(hours=1), FlowStage.WAITING_FOR_BODY, current=True)
    assert [f.request_id for f in behind] == [waiting]
    assert await watch.count_stuck() == 2

    narrow = await watch.view(timedelta(minutes=1))
    assert (
        narrow.report.requests == 1
    )  # only `fresh`; the stuck ones are listed whatever the window
    assert len(narrow.report.stuck) == 2


async def test_opening_a_request_unmasks_the_name_for_an_operator_and_audits_it(
    projection: Projection, console_pool: asyncpg.Pool
) -> None:
    request_id = uuid.uuid4()
    await projection.apply([requested(request_id, NOW)])
    audit = AuditLog(console_pool)
    watch = FlowWatch(projection, audit, None, max_rows=100, rules=StuckRules(), clock=lambda: NOW)
    target = f"request:{request_id}"

    seen_by_viewer = await watch.open(VICTOR, request_id)
    assert seen_by_viewer is not None and seen_by_viewer.name is None
    assert seen_by_viewer.detail.holder_name_masked == "M** L**"
    assert await audit.recent(target=target) == []

    opened = await watch.open(ALICE, request_id)
    assert opened is not None and opened.name == "Mei Lin"
    [entry] = await audit.recent(target=target)
    assert (entry.actor, entry.action) == ("alice", "open-request")
    assert "Mei" not in str(entry.detail)

    assert await watch.open(ALICE, uuid.uuid4()) is None


async def test_without_the_verifier_the_flow_is_shown_without_promises(
    projection: Projection, console_pool: asyncpg.Pool
) -> None:
    watch = FlowWatch(
        projection,
        AuditLog(console_pool),
        Promises(fail=True),
        max_rows=100,
        rules=StuckRules(),
        clock=lambda: NOW,
    )
    view = await watch.view(timedelta(hours=1))
    assert view.promises_known is False and view.report.requests == 0


async def test_names_are_forgotten_after_their_retention(
    projection: Projection, console_pool: asyncpg.Pool
) -> None:
    old, recent = uuid.uuid4(), uuid.uuid4()
    await projection.apply(
        [requested(old, NOW - timedelta(days=31)), requested(recent, NOW - timedelta(days=29))]
    )
    assert await projection.forget_names(NOW - timedelta(days=30)) == 1
    assert await projection.forget_names(NOW - timedelta(days=30)) == 0
    audit = AuditLog(console_pool)
    watch = FlowWatch(projection, audit, None, max_rows=100, rules=StuckRules(), clock=lambda: NOW)
    forgotten = await watch.open(ALICE, old)
    assert forgotten is not None and forgotten.name is None
    assert forgotten.detail.holder_name_masked == "M** L**"
    assert await audit.recent(target=f"request:{old}") == []  # nothing personal was opened
    kept = await watch.open(ALICE, recent)
    assert kept is not None and kept.name == "Mei Lin"
