"""The awarding-bodies section: how each body is doing (from the verifier), the enquiries
awaiting an answer, and an operator entering a body's answer, which the audit log records."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from services.console.adapters.verifier import VerifierOps
from services.console.domain.bodies import (
    Bilingual,
    BodiesError,
    BodiesReport,
    BodyHealth,
    BreakerState,
    EnquiryNotFound,
    OpenEnquiries,
    OpenEnquiry,
    VerifierUnavailable,
    enquiry_answer,
)
from services.console.domain.roles import Operator
from services.console.store.audit import AuditLog

NOT_CONFIGURED = Bilingual(
    en="The verifier is not configured for this console (CONSOLE_VERIFIER_URL)",
    zh="本控制台未配置核验服务（CONSOLE_VERIFIER_URL）",
)
ENQUIRY_LIMIT = 100  # the most urgent; the page says how many there are in all
ANSWER_ACTION = "enquiry-answer"


@dataclass(frozen=True)
class BodiesView:
    now: datetime
    report: BodiesReport | None
    enquiries: OpenEnquiries | None
    error: Bilingual | None

    @property
    def bodies(self) -> list[BodyHealth]:
        """Those needing attention first: breaker not closed, failures, open enquiries."""
        found = list(self.report.bodies) if self.report else []
        return sorted(found, key=_attention)

    @property
    def open_breakers(self) -> int:
        return sum(1 for b in self.bodies if b.breaker.state is not BreakerState.CLOSED)

    @property
    def failing(self) -> int:
        return sum(1 for b in self.bodies if b.failed_attempts)

    @property
    def overdue(self) -> int:
        """Past their deadline, of every body (not only of the enquiries listed)."""
        return sum(b.overdue_enquiries for b in self.bodies)


def _attention(body: BodyHealth) -> tuple[int, float, int, str]:
    return (
        0 if body.breaker.state is not BreakerState.CLOSED else 1,
        -(body.error_rate or 0.0),
        -body.open_enquiries,
        body.body_id,
    )


@dataclass(frozen=True)
class AnswerOutcome:
    enquiry: OpenEnquiry | None
    error: Bilingual | None


def request_of(reference: str) -> UUID | None:
    """The request an enquiry reference (`<request id>.<body id>`) belongs to."""
    try:
        return UUID(reference.partition(".")[0])
    except ValueError:
        return None


class AwardingBodies:
    def __init__(
        self,
        verifier: VerifierOps | None,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._verifier = verifier
        self._audit = audit
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def view(self, body_id: str | None = None) -> BodiesView:
        now = self._clock()
        if self._verifier is None:
            return BodiesView(now, None, None, NOT_CONFIGURED)
        try:
            report = await self._verifier.bodies()
            if body_id is not None and body_id not in {b.body_id for b in report.bodies}:
                return BodiesView(now, report, OpenEnquiries(0, ()), None)
            enquiries = await self._verifier.open_enquiries(body_id, ENQUIRY_LIMIT)
        except BodiesError as error:
            return BodiesView(now, None, None, error.message)
        return BodiesView(now, report, enquiries, None)

    async def enquiry(self, reference: str) -> OpenEnquiry:
        """One open enquiry; EnquiryNotFound when none is open under this reference."""
        if self._verifier is None:
            raise VerifierUnavailable(NOT_CONFIGURED)
        if request_of(reference) is None:
            raise EnquiryNotFound(_NOT_OPEN)
        found = await self._verifier.open_enquiries(limit=1, reference=reference)
        if not found.items:
            raise EnquiryNotFound(_NOT_OPEN)
        return found.items[0]

    async def answer(
        self, operator: Operator, reference: str, status: str, registered_name: str | None
    ) -> None:
        """Enter the body's answer (the request resumes at once in the verifier); written to
        the audit log whether the verifier took it or not. The name itself is never written
        there: it is personal data."""
        if self._verifier is None:
            raise VerifierUnavailable(NOT_CONFIGURED)
        answer = enquiry_answer(status, registered_name)  # InvalidAnswer: nothing was sent
        request_id = request_of(reference)
        if request_id is None:
            raise EnquiryNotFound(_NOT_OPEN)
        detail = {
            "reference": reference,
            "body": reference.partition(".")[2],
            "status": answer.status.value,
            "registered_name": "given" if answer.registered_name else "none",
        }
        try:
            await self._verifier.answer(reference, answer)
        except BodiesError as error:
            await self._audit.record(
                actor=operator.username,
                action=ANSWER_ACTION,
                target=f"request:{request_id}",
                detail={**detail, "outcome": f"refused: {type(error).__name__}"},
            )
            raise
        await self._audit.record(
            actor=operator.username,
            action=ANSWER_ACTION,
            target=f"request:{request_id}",
            detail={**detail, "outcome": "recorded"},
        )


_NOT_OPEN = Bilingual(
    en="No enquiry awaits an answer under this reference", zh="该编号下没有待答复的查询"
)
