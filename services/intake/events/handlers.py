"""What intake consumes: verdicts and progress of its requests, and catalogue withdrawals."""

import asyncio
import logging

from services.contracts.events import (
    QualificationWithdrawn,
    VerdictReached,
    VerificationProgressed,
)
from services.contracts.topics import CATALOGUE_CHANGES, VERDICT_REACHED, VERIFICATION_PROGRESSED
from services.intake.catalogue import EditionCatalogue
from services.intake.store.repository import IntakeStore
from services.runtime.kafka import BatchHandler, ConsumedEvent

log = logging.getLogger(__name__)

CONSUMED_TOPICS = (VERDICT_REACHED, VERIFICATION_PROGRESSED, CATALOGUE_CHANGES)


def intake_handler(store: IntakeStore, catalogue: EditionCatalogue) -> BatchHandler:
    """Each kind is stored idempotently (by event id) before the batch is acknowledged."""

    async def handle(batch: list[ConsumedEvent]) -> None:
        events = [consumed.event for consumed in batch]
        progress = [e for e in events if isinstance(e, VerificationProgressed)]
        verdicts = [e for e in events if isinstance(e, VerdictReached)]
        withdrawn = [e for e in events if isinstance(e, QualificationWithdrawn)]
        if progress:
            await store.apply_progress(progress)
        if verdicts:
            await store.apply_verdicts(verdicts)
        if withdrawn:
            await store.apply_withdrawals(withdrawn)
            catalogue.replace_withdrawals(await store.withdrawals())
            log.info("catalogue withdrawals applied", extra={"count": len(withdrawn)})

    return handle


async def refresh_withdrawals(
    store: IntakeStore, catalogue: EditionCatalogue, every_seconds: float
) -> None:
    """Keep this replica's view current when another replica consumed the withdrawal."""
    while True:
        catalogue.replace_withdrawals(await store.withdrawals())
        await asyncio.sleep(every_seconds)
