"""The console's subscriber: the flow of verifications and the catalogue's changes, projected
into the console's store (`services/console/store/projection.py`) in the consumption
middleware's transaction, one per consumed batch. The console publishes no event."""

from typing import Annotated

from faststream import Context
from faststream.kafka import KafkaRouter

from services.console.store.projection import Projection
from services.contracts.events import (
    OutcomePublished,
    QualificationWithdrawn,
    VerdictReached,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
)
from services.contracts.topics import (
    CATALOGUE_CHANGES,
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    VERIFICATION_REQUESTED,
)
from services.runtime.messaging import consuming, subscribed_topics
from services.runtime.reliability import InboxArg

GROUP = "console"
PROJECTION = "projection"  # the context name the composition root sets the projection under
CONSUMED_TOPICS = (
    VERIFICATION_REQUESTED,
    VERIFICATION_PROGRESSED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    OUTCOME_PUBLISHED,
    CATALOGUE_CHANGES,
)
Projected = (
    VerificationRequested
    | VerificationProgressed
    | VerdictReached
    | VerificationConcluded
    | OutcomePublished
    | QualificationWithdrawn
)


async def project(
    events: list[Projected],
    inbox: InboxArg,
    projection: Annotated[Projection, Context(PROJECTION)],
) -> None:
    await projection.record(inbox.conn, events)


def projection_router(group: str = GROUP) -> KafkaRouter:
    """The console's subscriber in consumer group `group` (tests use one of their own)."""
    router = KafkaRouter()
    router.subscriber(
        *subscribed_topics(*CONSUMED_TOPICS),
        **consuming(*CONSUMED_TOPICS, group=group),
        description=(
            "The operators' console projects each request's flow (accepted, waiting on a "
            "body, decided, concluded by the registry, outcome published) and the "
            "catalogue's withdrawals; it keeps no certificate number and the holder's name "
            "only masked and sealed."
        ),
    )(project)
    return router


router = projection_router()
