"""The notifier's Kafka edge: what it consumes (results, progress, employers' configurations,
account e-mail and replay requests, in one consumer of group "notifier") and what it publishes
(the employer's delivery log, through the outbox).

One subscriber reads every topic, so one batch is one transaction (the consumption
middleware's, holding the claim of the batch's event ids) whatever mix of events it holds.
"""

from typing import Annotated

from faststream import Context
from faststream.kafka import KafkaRouter

from services.contracts.events import (
    AccountMailRequested,
    DeliveryReplayRequested,
    DeliveryUpdated,
    EmployerWebhooksConfigured,
    VerificationConcluded,
    VerificationProgressed,
)
from services.contracts.topics import (
    DELIVERY_REPLAY_REQUESTED,
    EMPLOYER_MAIL,
    EMPLOYER_WEBHOOKS,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
)
from services.notifier.store.repository import NotifierStore
from services.runtime.messaging import consuming, declare_publishers, subscribed_topics
from services.runtime.reliability import InboxArg

GROUP = "notifier"
STORE = "store"  # the broker's context name of the NotifierStore
CONSUMED = (
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    EMPLOYER_WEBHOOKS,
    EMPLOYER_MAIL,
    DELIVERY_REPLAY_REQUESTED,
)
Consumed = (
    VerificationConcluded
    | VerificationProgressed
    | EmployerWebhooksConfigured
    | AccountMailRequested
    | DeliveryReplayRequested
)

router = KafkaRouter()
PUBLISHERS = declare_publishers(router, [DeliveryUpdated])


async def store_effects(
    events: list[Consumed], inbox: InboxArg, store: Annotated[NotifierStore, Context(STORE)]
) -> None:
    """Configurations first, so a batch's notifications go where the employer now wants them;
    progress before results, as a request's progress is ignored once it is finished."""
    conn = inbox.conn
    for event in events:
        if isinstance(event, EmployerWebhooksConfigured):
            await store.configure_endpoints(event, conn)
        elif isinstance(event, AccountMailRequested):
            await store.accept_account_mail(event, conn)
    for event in events:
        if isinstance(event, VerificationProgressed):
            await store.accept_progress(event, conn)
    await store.accept_conclusions(
        [e for e in events if isinstance(e, VerificationConcluded)], conn
    )
    await store.replay(
        [(e, inbox.traceparent(e)) for e in events if isinstance(e, DeliveryReplayRequested)],
        conn,
    )


def subscribe(router: KafkaRouter, group: str) -> None:
    """The notifier's subscriber on `router`, consuming as `group` (tests use one of their own)."""
    router.subscriber(*subscribed_topics(*CONSUMED), **consuming(*CONSUMED, group=group))(
        store_effects
    )


subscribe(router, GROUP)
