"""The registry's subscriber and publishers on Kafka.

It consumes `verification.verdicts.v1` (group `registry`, or the settings' consumer group)
and concludes each batch of verdicts in the reliability middleware's one transaction; it owns
`verification.results.v1`, `verification.outcomes.v1` and `catalogue.changes.v1`, which the
outbox relay publishes through `PUBLISHERS`.
"""

from dataclasses import dataclass
from typing import Annotated

from faststream import Context
from faststream.kafka import KafkaRouter

from services.contracts.events import (
    OutcomePublished,
    QualificationWithdrawn,
    VerdictReached,
    VerificationConcluded,
)
from services.contracts.topics import VERDICT_REACHED
from services.registry.concluding import Concluding
from services.runtime.messaging import (
    Publishers,
    consuming,
    declare_publishers,
    subscribed_topics,
)
from services.runtime.reliability import InboxArg

CONCLUDING = "concluding"  # the broker context's name of the `Concluding` use case


async def on_verdicts(
    events: list[VerdictReached],
    inbox: InboxArg,
    concluding: Annotated[Concluding, Context(CONCLUDING)],
) -> None:
    await concluding.conclude(inbox.conn, events, inbox.traceparent)


@dataclass(frozen=True)
class RegistryEvents:
    router: KafkaRouter
    publishers: Publishers


def registry_events(group: str = "registry") -> RegistryEvents:
    """The router to include in the registry's broker, consuming as `group` (tests and
    replicas of a test run each use a group of their own)."""
    router = KafkaRouter()
    publishers = declare_publishers(
        router, [VerificationConcluded, OutcomePublished, QualificationWithdrawn]
    )
    router.subscriber(
        *subscribed_topics(VERDICT_REACHED), **consuming(VERDICT_REACHED, group=group)
    )(on_verdicts)
    return RegistryEvents(router, publishers)


# As deployed (group `registry`): what the AsyncAPI document is generated from.
_DEPLOYED = registry_events()
router = _DEPLOYED.router
PUBLISHERS = _DEPLOYED.publishers
