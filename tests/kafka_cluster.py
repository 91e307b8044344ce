"""One secured three-broker Kafka cluster for the session (`LocalKafkaCluster`), started on
first use: the cluster's own tests and the broker-loss end-to-end test share it, since each
start costs half a minute of three JVMs. A test that kills brokers need not bring them back:
`secured_cluster` restarts any node found dead before the next test that uses it."""

from collections.abc import Iterator

import pytest

from deploy.local.kafka_cluster import LocalKafkaCluster


@pytest.fixture(scope="session")
def _session_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaCluster]:
    # Started from the main thread, which outlives every test: the JVMs die with the run.
    with LocalKafkaCluster(tmp_path_factory.mktemp("kafka-cluster"), brokers=3) as kafka:
        yield kafka


def revived(cluster: LocalKafkaCluster) -> LocalKafkaCluster:
    """The cluster with every node running again (call it from the main thread)."""
    dead = [node for node in cluster.nodes if not node.is_running()]
    for node in dead:
        node.spawn()
    for node in dead:
        node.wait_ready(120)
    return cluster


@pytest.fixture
def secured_cluster(_session_cluster: LocalKafkaCluster) -> LocalKafkaCluster:
    return revived(_session_cluster)
