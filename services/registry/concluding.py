"""Concluding verdicts: the registry's one use case on `verification.verdicts.v1`.

For a batch of verdicts, inside the caller's transaction: the code of each authentic one is
issued (once per request id) and its statement signed, each regional outcome is recorded, and
both `VerificationConcluded` (for intake and the notifier) and `OutcomePublished` (for the
regions) are written to the outbox. Either all of it commits, or none of it.
"""

from collections.abc import Callable, Sequence

from services.contracts.events import Event, VerdictReached
from services.reference.catalogue.model import Catalogue
from services.registry.domain.concluding import (
    concluded,
    is_authentic,
    issue_request_of,
    outcome_of,
)
from services.registry.domain.issuing import ensure_awarded
from services.registry.store.codes import CodeRepository
from services.registry.store.outcomes import OutcomeStore
from services.runtime.db import Connection
from services.runtime.outbox import write_traced_outbox
from services.runtime.tracing import child_traceparent


class Concluding:
    def __init__(
        self, codes: CodeRepository, outcomes: OutcomeStore, catalogue: Callable[[], Catalogue]
    ) -> None:
        """`catalogue`: the edition loaded at start (no I/O per verdict)."""
        self._codes = codes
        self._outcomes = outcomes
        self._catalogue = catalogue

    async def conclude(
        self,
        conn: Connection,
        verdicts: Sequence[VerdictReached],
        traceparent: Callable[[Event], str | None] = lambda _: None,
    ) -> None:
        """Raises InvalidField or UnknownQualification for an authentic verdict the catalogue
        refuses (a code is never issued for it), before anything is written."""
        catalogue = self._catalogue()
        requests = [issue_request_of(v) for v in verdicts if is_authentic(v)]
        for request in requests:
            ensure_awarded(catalogue, request)
        issued = await self._codes.issue_all(conn, requests)
        conclusions = [
            concluded(v, found.verification if (found := issued.get(v.request_id)) else None)
            for v in verdicts
        ]
        outcomes = [outcome_of(conclusion) for conclusion in conclusions]
        await self._outcomes.record(conn, outcomes)
        traces = [child_traceparent(traceparent(verdict)) for verdict in verdicts]
        await write_traced_outbox(
            conn, [*zip(conclusions, traces, strict=True), *zip(outcomes, traces, strict=True)]
        )
