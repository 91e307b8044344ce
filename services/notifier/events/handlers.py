"""Consumes verdicts, progress, employer configurations and account e-mail requests; each
effect is stored once per event (the store de-duplicates by event id, account e-mails by mail
id)."""

from services.contracts.events import (
    AccountMailRequested,
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
                elif isinstance(event, AccountMailRequested):
                    await store.accept_account_mail(event, conn)

    return handle
