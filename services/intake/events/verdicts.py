"""Consumes verdicts so employers can read each request's outcome back from intake."""

from services.contracts.events import VerdictReached
from services.intake.store.repository import IntakeStore
from services.runtime.kafka import BatchHandler, ConsumedEvent


def verdict_handler(store: IntakeStore) -> BatchHandler:
    async def handle(batch: list[ConsumedEvent]) -> None:
        verdicts = [c.event for c in batch if isinstance(c.event, VerdictReached)]
        if verdicts:
            await store.apply_verdicts(verdicts)

    return handle
