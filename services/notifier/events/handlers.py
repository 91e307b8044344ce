"""Consumes verdicts and webhook configurations; each effect is stored once per event."""

from services.contracts.events import EmployerWebhooksConfigured, VerdictReached
from services.notifier.store.repository import NotifierStore
from services.runtime.kafka import BatchHandler, ConsumedEvent


def notifier_handler(store: NotifierStore) -> BatchHandler:
    async def handle(batch: list[ConsumedEvent]) -> None:
        for consumed in batch:
            event = consumed.event
            if isinstance(event, VerdictReached):
                await store.accept_verdict(event, consumed.traceparent)
            elif isinstance(event, EmployerWebhooksConfigured):
                await store.configure_endpoints(event)

    return handle
