"""The catalogue watch: the registry's catalogue (over gRPC, as the `operator` identity) against
how each qualification is used (the console's projection); and withdrawing a qualification
through the registry's operator RPC, audited."""

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from services.console.domain.catalogue_watch import CatalogueWatch, ListedQualification, watch
from services.console.domain.registry import CatalogueQualification, RegistryProblem
from services.console.domain.roles import Operator
from services.console.store.audit import AuditLog
from services.console.store.projection import Projection

# The catalogue changes seldom: it is read from the registry at most this often.
_CATALOGUE_TTL_SECONDS = 30.0
_VIEW_TTL_SECONDS = 5.0


class Catalogue(Protocol):
    """The registry's operator RPCs the watch uses (`adapters.registry.RegistryOperator`)."""

    async def qualifications(self) -> list[CatalogueQualification]: ...

    async def withdraw(
        self, qualification_id: str, on: date | None, reason: str
    ) -> CatalogueQualification: ...


class MayNotAct(PermissionError):
    """A viewer asked for an action."""


class CatalogueWatchUse:
    def __init__(
        self,
        projection: Projection,
        registry: Catalogue,
        audit: AuditLog,
        *,
        dormant_months: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._projection = projection
        self._registry = registry
        self._audit = audit
        self._dormant_months = dormant_months
        self._clock = clock
        self._listed: list[ListedQualification] = []
        self._listed_until = 0.0
        self._view: CatalogueWatch | None = None
        self._view_until = 0.0

    async def view(self) -> CatalogueWatch:
        """Raises RegistryProblem when the registry cannot be read (and nothing is cached).
        The usage is counted over the whole projection: a view is reused a few seconds."""
        if self._view is not None and time.monotonic() < self._view_until:
            return self._view
        listed = await self._catalogue()
        self._view = watch(
            listed,
            await self._projection.usage(),
            now=self._clock(),
            dormant_months=self._dormant_months,
            observed_since=await self._projection.observed_since(),
            announced=await self._projection.withdrawals(),
        )
        self._view_until = time.monotonic() + _VIEW_TTL_SECONDS
        return self._view

    async def withdraw(
        self, operator: Operator, qualification_id: str, on: date | None, reason: str
    ) -> CatalogueQualification:
        """Withdraws through the registry; the attempt and its outcome go to the audit log.
        Raises MayNotAct for a viewer, RegistryProblem when the registry refuses or is away."""
        if not operator.may_act:
            raise MayNotAct(operator.username)
        detail = {"withdrawn_on": on.isoformat() if on else "today", "reason": reason}
        try:
            withdrawn = await self._registry.withdraw(qualification_id, on, reason)
        except RegistryProblem as problem:
            await self._audit.record(
                actor=operator.username,
                action="withdraw-qualification-refused",
                target=f"qualification:{qualification_id}",
                detail={**detail, "refusal": type(problem).__name__},
            )
            raise
        effective = withdrawn.withdrawn_on.isoformat() if withdrawn.withdrawn_on else ""
        await self._audit.record(
            actor=operator.username,
            action="withdraw-qualification",
            target=f"qualification:{qualification_id}",
            detail={**detail, "withdrawn_on": effective},
        )
        self._listed_until = self._view_until = 0.0  # read the catalogue afresh
        return withdrawn

    async def _catalogue(self) -> list[ListedQualification]:
        if time.monotonic() < self._listed_until:
            return self._listed
        self._listed = [
            ListedQualification(q.id, q.name, q.withdrawn_on, q.withdrawal_reason or "")
            for q in await self._registry.qualifications()
        ]
        self._listed_until = time.monotonic() + _CATALOGUE_TTL_SECONDS
        return self._listed
