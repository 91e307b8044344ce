"""Who may do what on the Kafka cluster, derived from the code: each service writes only the
topics it owns (`PRODUCER_OF`) and the dead-letter topics of what it consumes, and reads only
what its FastStream subscribers consume, under its own consumer groups. The regions read the
outcomes, each under its own group. The console also re-drives parked records back to their
source topics, pages through every topic and reads every group's lag, so it may read every
topic, write the re-driven ones and describe all.

One model, two uses: the Strimzi `KafkaUser` resources (`deploy/k8s/generate.py`) and the ACLs
of the local three-broker cluster (`make run KAFKA_BROKERS=3`), so neither drifts from the code.
"""

from dataclasses import dataclass

from deploy.asyncapi import REGIONS, SERVICE_ROUTERS
from services.contracts.topics import ALL_TOPICS, OUTCOME_PUBLISHED, PRODUCER_OF


@dataclass(frozen=True)
class KafkaAccess:
    principal: str  # the client certificate's common name, the KafkaUser's name
    writes: frozenset[str]
    reads: frozenset[str]
    groups: frozenset[str]
    # Describe every topic and group (lag, configs): the operators' console only.
    describes_all: bool = False
    # Topics it may only see (DESCRIBE): a service waits at its start for all the platform's
    # topics to exist (services.runtime.kafka.ensure_topics), and one it may not describe is
    # missing from what the cluster lists to it.
    describes: frozenset[str] = frozenset()


def _consumed(service: str) -> tuple[frozenset[str], frozenset[str]]:
    subscribers = SERVICE_ROUTERS[service].subscribers
    topics = {name for s in subscribers for name in getattr(s, "topic_names", ())}
    groups = {getattr(s, "group_id", "") for s in subscribers} - {""}
    return frozenset(topics), frozenset(groups)


def service_access(service: str) -> KafkaAccess:
    reads, groups = _consumed(service)
    owned = {topic for topic, owner in PRODUCER_OF.items() if owner == service}
    parks = {f"{topic}.dlq" for topic in reads if not topic.endswith(".dlq")}
    writes = owned | parks
    describes_all = service == "console"
    if describes_all:  # it pages through every topic; a re-drive goes back to the source topic
        reads = frozenset(t.name for t in ALL_TOPICS)
        writes |= {t.name.removesuffix(".dlq") for t in ALL_TOPICS if t.name.endswith(".dlq")}
    seen = frozenset() if describes_all else frozenset(t.name for t in ALL_TOPICS) - reads - writes
    return KafkaAccess(service, frozenset(writes), reads, groups, describes_all, seen)


def region_access(region: str) -> KafkaAccess:
    return KafkaAccess(
        f"region-{region}",
        frozenset(),
        frozenset({OUTCOME_PUBLISHED.name}),
        frozenset({f"region-{region}"}),
    )


def platform_access() -> list[KafkaAccess]:
    """Every principal of the cluster but its administrators (brokers, topic operator)."""
    return [service_access(s) for s in SERVICE_ROUTERS] + [region_access(r) for r in REGIONS]
