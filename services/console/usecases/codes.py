"""The Codes section: look a code up, read who accessed it, revoke it with a reason.

The registry knows the console only as its `operator` identity; the console's audit log says
which operator looked a code up or revoked it, and why.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.console.adapters.registry import RegistryOperator
from services.console.domain.registry import (
    AccessTrail,
    CatalogueQualification,
    CodeRecord,
    RegistryNotFound,
    RegistryProblem,
    revocation_reason,
)
from services.console.store.audit import AuditLog

MAX_CODE = 40  # the registry's bound on a code as typed
_CLOCK_SKEW = timedelta(seconds=30)  # between the registry's clock and the console's


@dataclass(frozen=True)
class CodeView:
    record: CodeRecord
    qualification: CatalogueQualification | None  # None if the catalogue no longer has it
    trail: AccessTrail


class CodeDesk:
    def __init__(self, registry: RegistryOperator, audit: AuditLog) -> None:
        self._registry = registry
        self._audit = audit

    async def look_up(self, actor: str, code: str) -> CodeView:
        """The code as the registry holds it (the name masked), recorded in the audit log."""
        record = await self._registry.verification(code[:MAX_CODE])
        await self._audit.record(
            actor=actor,
            action="code-lookup",
            target=record.code,
            detail={"status": record.status.value},
        )
        return CodeView(
            record=record,
            qualification=await self._qualification(record.qualification_id),
            trail=await self._registry.access_trail(record.code),
        )

    async def trail(self, code: str, cursor: str | None = None) -> AccessTrail:
        return await self._registry.access_trail(code[:MAX_CODE], cursor=cursor)

    async def revoke(self, actor: str, code: str, reason: str) -> CodeRecord:
        """Revokes the code; the attempt is audited whatever the registry answers."""
        typed = code.strip()[:MAX_CODE]
        reason = revocation_reason(reason)
        asked_at = datetime.now(UTC)
        try:
            record = await self._registry.revoke(typed, reason)
        except RegistryProblem as problem:
            await self._audit.record(
                actor=actor,
                action="code-revoke",
                target=typed,
                detail={"outcome": "refused", "why": problem.message_en, "reason": reason},
            )
            raise
        # Revoking is idempotent: a code revoked before keeps its first reason and time.
        outcome = "revoked" if _revoked_now(record, reason, asked_at) else "already revoked"
        await self._audit.record(
            actor=actor,
            action="code-revoke",
            target=record.code,
            detail={"outcome": outcome, "reason": reason},
        )
        return record

    async def _qualification(self, qualification_id: str) -> CatalogueQualification | None:
        try:
            return await self._registry.qualification(qualification_id)
        except RegistryNotFound:
            return None


def _revoked_now(record: CodeRecord, reason: str, asked_at: datetime) -> bool:
    revoked_at = record.revoked_at
    return (
        record.revocation_reason == reason
        and revoked_at is not None
        and revoked_at >= asked_at - _CLOCK_SKEW
    )
