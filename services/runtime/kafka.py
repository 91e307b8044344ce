"""Kafka administration: explicit topic creation and configuration, waiting for a group's
coordinator, and a plain producer for the console's re-drive of parked records (which must
keep their original signature). Services consume and publish through FastStream
(`services/runtime/messaging.py`)."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from services.contracts.topics import TopicSpec
from services.runtime.kafka_cluster import DEVELOPMENT, KafkaCluster

log = logging.getLogger(__name__)


class TopicsMissing(KafkaError):  # type: ignore[misc]
    """Topics the cluster's administrator has not created yet: waited for, like Kafka itself."""

    retriable = True


async def ensure_topics(
    bootstrap: str, topics: Sequence[TopicSpec], cluster: KafkaCluster = DEVELOPMENT
) -> None:
    """Creates the missing topics and gives existing ones their declared configs; or, when
    the cluster manages its topics, only checks that they are all there."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **cluster.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if not cluster.manage_topics:
            if missing_names := sorted({t.name for t in topics} - existing):
                raise TopicsMissing(f"topics not created yet: {', '.join(missing_names)}")
            return
        missing = [
            NewTopic(
                t.name,
                t.partitions,
                cluster.replication_factor,
                topic_configs=cluster.topic_configs(t.configs),
            )
            for t in topics
            if t.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently
                await admin.create_topics(missing)
        declared = [replace(t, configs=cluster.topic_configs(t.configs)) for t in topics]
        await _reconcile_configs(admin, [t for t in declared if t.name in existing])
    finally:
        await admin.close()


# DescribeConfigs' `config_source` of a value set on the topic itself (not a broker default).
_TOPIC_OVERRIDE = 1


async def _reconcile_configs(admin: AIOKafkaAdminClient, topics: Sequence[TopicSpec]) -> None:
    """Gives topics that already exist the configs we declare for them (a topic created before
    a config was added, say compaction settings, keeps its old ones otherwise).

    Only the declared keys change: the legacy AlterConfigs request (aiokafka has no incremental
    one) replaces all of a topic's overrides, so the ones it already has are sent back as they
    are. Partitions and replication are not touched here.
    """
    if not topics:
        return
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t.name) for t in topics]
    )
    overrides: dict[str, dict[str, str | None]] = {}
    for response in described:
        for resource in response.to_object()["resources"]:
            _raise_for(resource)
            overrides[resource["resource_name"]] = {
                entry["config_names"]: entry["config_value"]
                for entry in resource["config_entries"]
                if _is_override(entry)
            }
    changes: list[ConfigResource] = []
    for topic in topics:
        current = overrides.get(topic.name, {})
        stale = sorted(k for k, v in topic.configs.items() if current.get(k) != v)
        if not stale:
            continue
        if any(value is None for value in current.values()):  # a sensitive override: unknown
            log.warning(
                "topic configs not updated: an override cannot be read back",
                extra={"topic": topic.name, "configs": stale},
            )
            continue
        changes.append(
            ConfigResource(ConfigResourceType.TOPIC, topic.name, {**current, **topic.configs})
        )
        log.info("updating topic configs", extra={"topic": topic.name, "configs": stale})
    if changes:
        for response in await admin.alter_configs(changes):
            for resource in response.to_object()["resources"]:
                _raise_for(resource)


def _is_override(entry: dict[str, Any]) -> bool:
    if "config_source" in entry:  # DescribeConfigs v1 and later
        return bool(entry["config_source"] == _TOPIC_OVERRIDE)
    return not entry["is_default"]


def _raise_for(resource: dict[str, Any]) -> None:
    if resource["error_code"]:
        error = for_code(resource["error_code"])
        raise error(f"{resource['resource_name']}: {resource['error_message']}")


async def wait_for_group_coordinator(
    bootstrap: str, group_id: str, cluster: KafkaCluster = DEVELOPMENT
) -> None:
    """Returns once the broker names the group's coordinator.

    On a fresh cluster the first group makes the broker create its offsets topic, and until
    then aiokafka's consumer logs every retry at ERROR; asking through the admin client first
    keeps this normal part of a start out of the error log.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **cluster.client_options())
    await admin.start()
    try:
        delay = 0.05
        while True:
            try:
                await admin.find_coordinator(group_id)
                return
            except KafkaError as error:
                if not error.retriable:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
    finally:
        await admin.close()


def create_producer(
    bootstrap: str, client_id: str, cluster: KafkaCluster = DEVELOPMENT
) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        **cluster.client_options(),
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
    )
