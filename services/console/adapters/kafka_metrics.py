"""The broker's lag and dead letters as Prometheus gauges on the console's /metrics, set by the
sampler from each snapshot (the alert rules use exactly these names)."""

from prometheus_client import Gauge

from services.console.domain.offsets import KafkaSnapshot

CONSUMER_GROUP_LAG = Gauge(
    "qv_consumer_group_lag",
    "Records of the topic the consumer group has not consumed yet, all partitions",
    ["group", "topic"],
)
CONSUMER_GROUP_LAG_SECONDS = Gauge(
    "qv_consumer_group_lag_seconds",
    "Age of the oldest record the consumer group has not consumed (max lag time)",
    ["group", "topic"],
)
DEAD_LETTERS = Gauge("qv_dead_letters", "Records parked on each dead-letter topic", ["topic"])
SAMPLED_AT = Gauge(
    "qv_console_kafka_sampled_at_seconds",
    "Unix time of the last sample of the broker's offsets (stale while the broker is away)",
)


def publish(snapshot: KafkaSnapshot) -> None:
    """Replaces every series with the snapshot's, so groups and topics that are gone vanish.
    The gauges are read on the same event loop, so no scrape sees a half-written set."""
    CONSUMER_GROUP_LAG.clear()
    CONSUMER_GROUP_LAG_SECONDS.clear()
    DEAD_LETTERS.clear()
    for (group, topic), lag in snapshot.group_lag().items():
        CONSUMER_GROUP_LAG.labels(group, topic).set(lag)
    for (group, topic), seconds in snapshot.group_lag_seconds().items():
        if seconds is not None:
            CONSUMER_GROUP_LAG_SECONDS.labels(group, topic).set(seconds)
    for topic, records in snapshot.dead_letter_counts().items():
        DEAD_LETTERS.labels(topic).set(records)
    SAMPLED_AT.set(snapshot.taken_at.timestamp())
