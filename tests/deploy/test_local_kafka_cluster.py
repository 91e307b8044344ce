"""LocalKafkaCluster: three secured KRaft nodes. Topics at replication 3 with two in sync, ACLs
that hold (a service writes only what it owns, reads only what it consumes), certificates from
anywhere but the clients CA refused at the handshake, the verifier at work as its own principal.
A broker's loss, with the whole platform on the cluster, is tests/e2e/test_broker_loss.py."""

import asyncio
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAuthorizationFailedError

from deploy.local.kafka_cluster import LocalKafkaCluster, kafka_client_env
from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.supervisor import Supervisor
from deploy.pki.make_dev_pki import ensure_dev_pki
from services.contracts.events import VerdictReached
from services.contracts.topics import (
    ALL_TOPICS,
    SERVICES,
    VERDICT_REACHED,
    VERIFICATION_CONCLUDED,
    VERIFICATION_REQUESTED,
)
from services.runtime.kafka import create_producer
from services.runtime.kafka_cluster import KafkaCluster
from tests.signing import signed
from tests.verifier.support import request_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


@pytest.fixture
def cluster(secured_cluster: LocalKafkaCluster) -> LocalKafkaCluster:
    return secured_cluster  # the session's (tests/kafka_cluster.py)


@pytest_asyncio.fixture
async def admin(cluster: LocalKafkaCluster) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(
        bootstrap_servers=cluster.bootstrap_servers, **cluster.admin_cluster.client_options()
    )
    await client.start()
    yield client
    await client.close()


async def test_topics_are_replicated_three_ways_with_two_in_sync(
    cluster: LocalKafkaCluster, admin: AIOKafkaAdminClient
) -> None:
    names = [t.name for t in ALL_TOPICS] + ["__consumer_offsets"]
    described = await admin.describe_topics(names)
    for topic in described:
        assert topic["error_code"] == 0, topic
        for partition in topic["partitions"]:
            assert len(partition["replicas"]) == 3, (topic["topic"], partition)
    configs = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    )
    min_isr = {
        resource["resource_name"]: entry["config_value"]
        for response in configs
        for resource in response.to_object()["resources"]
        for entry in resource["config_entries"]
        if entry["config_names"] == "min.insync.replicas"
    }
    assert min_isr == dict.fromkeys(names, "2")
    assert cluster.client_env("verifier")["KAFKA_MANAGE_TOPICS"] == "false"


async def test_a_service_writes_its_own_topic_and_is_refused_another(
    cluster: LocalKafkaCluster,
) -> None:
    producer = create_producer(
        cluster.bootstrap_servers, "verifier-test", cluster.client_cluster("verifier")
    )
    await producer.start()
    try:
        written = await producer.send_and_wait(VERDICT_REACHED.name, b"owned")
        assert written.offset >= 0
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(VERIFICATION_REQUESTED.name, b"not the verifier's")
    finally:
        await producer.stop()


async def test_a_service_cannot_read_a_topic_it_does_not_consume(
    cluster: LocalKafkaCluster,
) -> None:
    consumer = AIOKafkaConsumer(
        VERIFICATION_CONCLUDED.name,  # the registry's conclusions: intake's and the notifier's
        group_id="verifier",
        bootstrap_servers=cluster.bootstrap_servers,
        auto_offset_reset="earliest",
        **cluster.client_cluster("verifier").client_options(),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await consumer.start()
            await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()


async def handshake(cluster: LocalKafkaCluster, context: ssl.SSLContext) -> bytes:
    """A TLS connection to a client listener; the broker's verdict on our certificate comes
    with the first read (TLS 1.3 finishes the client's side of the handshake first)."""
    host, port = cluster.nodes[0].bootstrap_servers.split(":")
    reader, writer = await asyncio.open_connection(host, int(port), ssl=context)
    try:
        writer.write(b"\x00\x00\x00\x00")
        await writer.drain()
        return await asyncio.wait_for(reader.read(16), 10)
    finally:
        writer.close()


def client_context(
    cluster: LocalKafkaCluster, cert: Path | None, key: Path | None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cluster.tls_dir / "cluster-ca.pem"))
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


async def test_certificates_the_clients_ca_did_not_sign_are_refused_at_the_handshake(
    cluster: LocalKafkaCluster, tmp_path: Path
) -> None:
    registry_pki = ensure_dev_pki(tmp_path / "registry-pki")  # another CA, the same name
    tls = cluster.tls_dir
    refused = {
        "another CA": (registry_pki / "verifier.pem", registry_pki / "verifier-key.pem"),
        "the brokers' own CA": (tls / "broker.pem", tls / "broker-key.pem"),
        "no certificate": (None, None),
    }
    for what, (cert, key) in refused.items():
        with pytest.raises(ssl.SSLError, match="ALERT") as raised:
            await handshake(cluster, client_context(cluster, cert, key))
        assert "certificate" in str(raised.value).lower(), what
    # The services' own: the handshake holds; the broker only drops our empty request.
    accepted = client_context(cluster, tls / "verifier.pem", tls / "verifier-key.pem")
    assert await handshake(cluster, accepted) == b""


async def verdict_of(
    request_id: uuid.UUID, cluster: KafkaCluster, bootstrap: str, timeout: float
) -> VerdictReached:
    consumer = AIOKafkaConsumer(
        VERDICT_REACHED.name,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        **cluster.client_options(),
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value is None or b"request_id" not in record.value:
                        continue
                    verdict = VerdictReached.model_validate_json(record.value)
                    if verdict.request_id == request_id:
                        return verdict
        raise AssertionError(f"no verdict for {request_id} within {timeout}s")
    finally:
        await consumer.stop()


async def test_the_verifier_works_as_its_own_principal(
    cluster: LocalKafkaCluster, fresh_database: str, tmp_path: Path
) -> None:
    platform = Platform(
        cluster.bootstrap_servers,
        fresh_database,
        Ports.free(),
        kafka_client_env=kafka_client_env(cluster, SERVICES),
    )
    specs = [s for s in service_specs(platform, tmp_path) if s.name in {"simulator", "verifier"}]
    request = request_for(["aws"], "AWS-0000-0000", "ZHANG Wei", qualification_id="aws-e94e5145")
    value, headers = signed(request)  # as intake, the topic's owner, signs it
    async with Supervisor() as supervisor:
        await supervisor.start_all(specs)
        producer = create_producer(
            cluster.bootstrap_servers, "intake-test", cluster.client_cluster("intake")
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                VERIFICATION_REQUESTED.name, value, key=request.key(), headers=headers
            )
        finally:
            await producer.stop()
        verdict = await verdict_of(
            request.request_id, cluster.admin_cluster, cluster.bootstrap_servers, 120
        )
    assert verdict.qualification_id == "aws-e94e5145"
