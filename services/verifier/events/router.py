"""The verifier's subscriber and publishers on Kafka.

It consumes `verification.requested.v1` (group `verifier`): each batch is claimed in the
reliability middleware's transaction, and the work starts once that transaction has committed.
It owns `verification.verdicts.v1` and `verification.progress.v1`, which the outbox relay
publishes through `PUBLISHERS`.
"""

from typing import Annotated

from faststream import Context
from faststream.kafka import KafkaRouter

from services.contracts.events import VerdictReached, VerificationProgressed, VerificationRequested
from services.contracts.topics import VERIFICATION_REQUESTED
from services.runtime.messaging import consuming, declare_publishers, subscribed_topics
from services.runtime.reliability import InboxArg
from services.verifier.verifying import RequestVerifier

GROUP = "verifier"
VERIFIER = "verifier"  # the broker context's name of the `RequestVerifier`


async def on_requests(
    events: list[VerificationRequested],
    inbox: InboxArg,
    verifier: Annotated[RequestVerifier, Context(VERIFIER)],
) -> None:
    # One entry per request: a request published twice (new event ids) is taken on once.
    requests = {event.request_id: (event, inbox.traceparent(event)) for event in events}
    inbox.after_commit(await verifier.take_on(inbox.conn, list(requests.values())))


router = KafkaRouter()
PUBLISHERS = declare_publishers(router, [VerdictReached, VerificationProgressed])
router.subscriber(
    *subscribed_topics(VERIFICATION_REQUESTED),
    **consuming(VERIFICATION_REQUESTED, group=GROUP),
    description=(
        "The verifier claims each batch of requests in one transaction, then asks every "
        "awarding body of each request in parallel; its verdict goes out through its outbox."
    ),
)(on_requests)
