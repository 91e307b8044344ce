"""`ensure_topics` on the real broker: a topic that already exists gets the configs we declare
(say, compaction settings added after it was created), and keeps everything else it has."""

import dataclasses
import logging
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from services.contracts.topics import EMPLOYER_WEBHOOKS
from services.runtime.kafka import ensure_topics
from tests.infra import Infra

pytestmark = pytest.mark.integration

OLD_CONFIGS = {"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.3"}


async def topic_overrides(bootstrap: str, topic: str) -> tuple[dict[str, str], int]:
    """The topic's own config values (not broker defaults), and its partition count."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.to_object()["resources"]
        assert resource["error_code"] == 0, resource
        overrides = {
            entry["config_names"]: entry["config_value"]
            for entry in resource["config_entries"]
            if entry["config_source"] == 1  # DYNAMIC_TOPIC_CONFIG
        }
        [described] = await admin.describe_topics([topic])
        return overrides, len(described["partitions"])
    finally:
        await admin.close()


async def test_an_existing_topic_gets_the_declared_configs_and_keeps_its_others(
    infra: Infra, caplog: pytest.LogCaptureFixture
) -> None:
    bootstrap = infra.kafka_bootstrap_servers
    spec = dataclasses.replace(EMPLOYER_WEBHOOKS, name=f"webhooks-configs-{uuid.uuid4().hex}")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:  # as an older release created it: compacted, without the purge settings
        await admin.create_topics([NewTopic(spec.name, 2, 1, topic_configs=OLD_CONFIGS)])
    finally:
        await admin.close()
    before, _ = await topic_overrides(bootstrap, spec.name)
    assert "segment.ms" not in before and "max.compaction.lag.ms" not in before

    await ensure_topics(bootstrap, [spec])

    after, partitions = await topic_overrides(bootstrap, spec.name)
    # The cluster's durability rule comes with the topic's own configs (1 on one broker).
    assert after == {**OLD_CONFIGS, **spec.configs, "min.insync.replicas": "1"}
    assert after["segment.ms"] == after["max.compaction.lag.ms"] == str(3600 * 1000)
    assert partitions == 2  # partitions are not this function's business

    caplog.set_level(logging.INFO, logger="services.runtime.kafka")
    await ensure_topics(bootstrap, [spec])  # already in line: nothing to change
    assert not [r for r in caplog.records if r.getMessage() == "updating topic configs"]
    assert (await topic_overrides(bootstrap, spec.name))[0] == after
