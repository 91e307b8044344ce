"""Approving employers: the sign-ups waiting for a decision (contacts masked), the recent
decisions, opening one (its contact in full: an opening of personal data, audited) and an
operator's approval or rejection (audited, whether intake took it or not, before the result
is shown). Intake decides and mails the employer; the console asks."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from services.console.adapters.intake import IntakeOperator
from services.console.domain.bodies import Bilingual
from services.console.domain.employers import (
    EmployersError,
    EmployerStatus,
    IntakeUnavailable,
    ReviewedEmployer,
)
from services.console.domain.roles import Operator
from services.console.store.audit import AuditLog

NOT_CONFIGURED = Bilingual(
    en="The console has no connection to intake configured (CONSOLE_INTAKE_URL)",
    zh="控制台未配置受理服务连接（CONSOLE_INTAKE_URL）",
)
OPEN_ACTION = "employer-open-contact"
APPROVE_ACTION = "employer-approve"
REJECT_ACTION = "employer-reject"
RECENT_DECISIONS = 20


@dataclass(frozen=True)
class EmployersView:
    pending: tuple[ReviewedEmployer, ...]
    decided: tuple[ReviewedEmployer, ...]  # most recent first, approvals and rejections
    error: Bilingual | None


class EmployerReview:
    def __init__(self, intake: IntakeOperator | None, audit: AuditLog) -> None:
        self._intake = intake
        self._audit = audit

    def _connected(self) -> IntakeOperator:
        if self._intake is None:
            raise IntakeUnavailable(NOT_CONFIGURED)
        return self._intake

    async def view(self) -> EmployersView:
        try:
            intake = self._connected()
            pending = await intake.employers(EmployerStatus.PENDING)
            decided = await intake.employers(EmployerStatus.ACTIVE, RECENT_DECISIONS)
            decided += await intake.employers(EmployerStatus.REJECTED, RECENT_DECISIONS)
        except EmployersError as error:
            return EmployersView((), (), error.message)
        latest = sorted(decided, key=lambda e: e.decided_at or e.created_at, reverse=True)
        return EmployersView(
            tuple(e.with_contact_masked() for e in pending),
            tuple(e.with_contact_masked() for e in latest[:RECENT_DECISIONS]),
            None,
        )

    async def open(self, operator: Operator, employer_id: UUID) -> ReviewedEmployer:
        """One employer with its contact in full; the opening is audited first."""
        found = await self._connected().employer(employer_id)
        await self._audit.record(
            actor=operator.username,
            action=OPEN_ACTION,
            target=f"employer:{employer_id}",
            detail={"fields": "contact name, e-mail, phone"},
        )
        return found

    async def approve(self, operator: Operator, employer_id: UUID) -> ReviewedEmployer:
        intake = self._connected()
        return await self._decided(
            operator,
            APPROVE_ACTION,
            employer_id,
            {},
            lambda: intake.approve(employer_id, operator.username),
        )

    async def reject(self, operator: Operator, employer_id: UUID, reason: str) -> ReviewedEmployer:
        intake = self._connected()
        return await self._decided(
            operator,
            REJECT_ACTION,
            employer_id,
            {"reason": reason.strip()[:500]},
            lambda: intake.reject(employer_id, operator.username, reason),
        )

    async def _decided(
        self,
        operator: Operator,
        action: str,
        employer_id: UUID,
        detail: dict[str, str],
        decide: Callable[[], Awaitable[ReviewedEmployer]],
    ) -> ReviewedEmployer:
        target = f"employer:{employer_id}"
        try:
            decided = await decide()
        except EmployersError as error:
            outcome = f"refused: {type(error).__name__}"
            await self._audit.record(
                actor=operator.username,
                action=action,
                target=target,
                detail={**detail, "outcome": outcome},
            )
            raise
        await self._audit.record(
            actor=operator.username,
            action=action,
            target=target,
            detail={**detail, "outcome": decided.status.value},
        )
        return decided
