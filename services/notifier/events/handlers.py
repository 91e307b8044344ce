"""Consumes verdicts, progress and employer configurations; each effect is stored once per
event (the store de-duplicates by event id)."""

from services.contracts.events import (
    EmployerWebhooksConfigured,
    VerdictReached,
    VerificationProgressed,
)
from services.notifier.store.repository import NotifierStore
from services.runtime.kafka import BatchHandler, ConsumedEvent


def notifier_handler(store: NotifierStore) -> BatchHandler:
    async def handle(batch: list[ConsumedEvent]) -> None:
        # One transaction for the batch: its effects are stored together or not at all.
        async with store.transaction() as conn:
            for consumed in batch:
                event = consumed.event
                if isinstance(event, VerdictReached):
                    await store.accept_verdict(event, consumed.traceparent, conn)
                elif isinstance(event, VerificationProgressed):
                    await store.accept_progress(event, conn)
                elif isinstance(event, EmployerWebhooksConfigured):
                    await store.configure_endpoints(event, conn)

    return handle
