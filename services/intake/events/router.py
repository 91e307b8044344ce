"""Intake's Kafka edge: what it publishes (through its outbox) and what it consumes.

Intake consumes, as group `intake`, in one batch subscriber: the registry's conclusions (the
verdict, with the code and statement of an authentic one) and the verifier's progress of its
requests, the registry's catalogue withdrawals, and the notifier's delivery updates (the
employer's delivery log). Each batch's effects are stored in the consumption middleware's
transaction (`inbox.conn`), with the claim of its event ids.
"""

from functools import partial
from typing import Annotated

from faststream import Context
from faststream.kafka import KafkaRouter

from services.contracts.events import (
    AccountMailRequested,
    DeliveryReplayRequested,
    DeliveryUpdated,
    EmployerWebhooksConfigured,
    Event,
    QualificationWithdrawn,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
)
from services.contracts.topics import (
    CATALOGUE_CHANGES,
    DELIVERY_UPDATED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
)
from services.intake.catalogue import EditionCatalogue
from services.intake.store.deliveries import project_deliveries
from services.intake.store.repository import IntakeStore
from services.runtime.messaging import consuming, declare_publishers, subscribed_topics
from services.runtime.reliability import Inbox, InboxArg

GROUP = "intake"
CONSUMED_TOPICS = (
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    CATALOGUE_CHANGES,
    DELIVERY_UPDATED,
)
Consumed = VerificationConcluded | VerificationProgressed | QualificationWithdrawn | DeliveryUpdated

# What intake publishes, each through its outbox in the transaction of the change it tells.
PUBLISHED: list[type[Event]] = [
    VerificationRequested,
    EmployerWebhooksConfigured,
    AccountMailRequested,
    DeliveryReplayRequested,
]

router = KafkaRouter()
PUBLISHERS = declare_publishers(router, PUBLISHED)


async def apply_events(
    events: list[Consumed],
    inbox: InboxArg,
    store: Annotated[IntakeStore, Context("intake_store")],
    catalogue: Annotated[EditionCatalogue, Context("catalogue")],
) -> None:
    """Progress before conclusions, so a late progress event never reopens a decided request."""
    progress = [e for e in events if isinstance(e, VerificationProgressed)]
    concluded = [e for e in events if isinstance(e, VerificationConcluded)]
    withdrawn = [e for e in events if isinstance(e, QualificationWithdrawn)]
    deliveries = [e for e in events if isinstance(e, DeliveryUpdated)]
    if progress:
        await store.apply_progress(inbox.conn, progress)
    if concluded and await store.apply_conclusions(inbox.conn, concluded):
        inbox.after_commit(store.forget_observed)
    if withdrawn:
        await _apply_withdrawals(store, catalogue, inbox, withdrawn)
    if deliveries:
        await project_deliveries(inbox.conn, deliveries)


async def _apply_withdrawals(
    store: IntakeStore,
    catalogue: EditionCatalogue,
    inbox: Inbox,
    withdrawn: list[QualificationWithdrawn],
) -> None:
    """This process's catalogue refuses the qualifications once the withdrawal is committed
    (other processes re-read within `catalogue_refresh_seconds`)."""
    await store.apply_withdrawals(inbox.conn, withdrawn)
    every_withdrawal = await store.withdrawals(inbox.conn)
    inbox.after_commit(partial(catalogue.replace_withdrawals, every_withdrawal))


def subscribe(router: KafkaRouter, group: str) -> None:
    """Intake's subscriber on `router`, consuming as `group` (tests use a group of their own)."""
    router.subscriber(
        *subscribed_topics(*CONSUMED_TOPICS), **consuming(*CONSUMED_TOPICS, group=group)
    )(apply_events)


subscribe(router, GROUP)
