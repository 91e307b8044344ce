"""Kafka topics of the platform: names, partition counts and configs, created explicitly."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


_WEEK_MS = str(7 * 24 * 3600 * 1000)
# `min.insync.replicas` is the cluster's rule, not the topic's (services/runtime/kafka_cluster.py).
_EVENTS = {"retention.ms": _WEEK_MS}

VERIFICATION_REQUESTED = TopicSpec("verification.requested.v1", 6, _EVENTS)
# The verifier's verdict, for the registry only (it issues the code of an authentic one).
VERDICT_REACHED = TopicSpec("verification.verdicts.v1", 6, _EVENTS)
# The registry's record of a finished verification (verdict, code, signed statement): what
# the employer side (intake and the notifier) acts on.
VERIFICATION_CONCLUDED = TopicSpec("verification.results.v1", 6, _EVENTS)
VERIFICATION_PROGRESSED = TopicSpec("verification.progress.v1", 6, _EVENTS)
OUTCOME_PUBLISHED = TopicSpec(
    "verification.outcomes.v1", 6, {"retention.ms": str(90 * 24 * 3600 * 1000)}
)
CATALOGUE_CHANGES = TopicSpec("catalogue.changes.v1", 1, {"retention.ms": "-1"})
# Compacted within the hour: a superseded configuration (e.g. one from before secrets were
# sealed) does not linger on the broker.
_HOUR_MS = str(3600 * 1000)
EMPLOYER_WEBHOOKS = TopicSpec(
    "employer.webhooks.v1",
    3,
    {"cleanup.policy": "compact", "segment.ms": _HOUR_MS, "max.compaction.lag.ms": _HOUR_MS},
)

# The notifier's delivery log as the employer sees it (intake shows it), one event per attempt
# or replay; and the employer's requests, through intake, to send a delivery again.
DELIVERY_UPDATED = TopicSpec("employer.deliveries.v1", 3, _EVENTS)
DELIVERY_REPLAY_REQUESTED = TopicSpec("employer.replays.v1", 3, _EVENTS)

# Account e-mail (address verification, approval, password reset, invitation), sent by the
# notifier; addresses and links travel sealed, and a day is ample for a mail to go out.
EMPLOYER_MAIL = TopicSpec("employer.mail.v1", 3, {"retention.ms": str(24 * 3600 * 1000)})

# The one service allowed to produce each topic: consumers accept a record only if it is signed
# by this service's key (docs/event-authenticity.md); the cluster's ACLs mirror this table.
PRODUCER_OF: dict[str, str] = {
    VERIFICATION_REQUESTED.name: "intake",
    EMPLOYER_WEBHOOKS.name: "intake",
    EMPLOYER_MAIL.name: "intake",
    DELIVERY_REPLAY_REQUESTED.name: "intake",
    VERDICT_REACHED.name: "verifier",
    VERIFICATION_PROGRESSED.name: "verifier",
    VERIFICATION_CONCLUDED.name: "registry",
    OUTCOME_PUBLISHED.name: "registry",
    CATALOGUE_CHANGES.name: "registry",
    DELIVERY_UPDATED.name: "notifier",
}
SERVICES: tuple[str, ...] = ("intake", "verifier", "registry", "notifier", "console")


def producer_of(topic: str) -> str | None:
    """The service that owns `topic`, or None for a topic no service may be trusted on."""
    return PRODUCER_OF.get(topic)


def dead_letter_of(topic: TopicSpec) -> TopicSpec:
    """Poison messages of `topic` are parked here, never dropped."""
    return TopicSpec(f"{topic.name}.dlq", 1, {"retention.ms": str(30 * 24 * 3600 * 1000)})


CONSUMED = (
    VERIFICATION_REQUESTED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    OUTCOME_PUBLISHED,  # by the operators' console
    EMPLOYER_WEBHOOKS,
    EMPLOYER_MAIL,
    DELIVERY_UPDATED,
    DELIVERY_REPLAY_REQUESTED,
    CATALOGUE_CHANGES,
)
ALL_TOPICS: tuple[TopicSpec, ...] = (
    VERIFICATION_REQUESTED,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_PROGRESSED,
    OUTCOME_PUBLISHED,
    EMPLOYER_WEBHOOKS,
    EMPLOYER_MAIL,
    DELIVERY_UPDATED,
    DELIVERY_REPLAY_REQUESTED,
    CATALOGUE_CHANGES,
    *(dead_letter_of(topic) for topic in CONSUMED),
)
