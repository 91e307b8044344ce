"""A local Kafka cluster of three (or more) KRaft nodes, secured as on Kubernetes: mutual TLS
on every listener, one principal per service, ACLs, topics at replication 3.

Each node is a combined broker+controller (``LocalKafka``'s JVM from the same Maven jars) with
three TLS listeners, all requiring a client certificate: CLIENT (the services; trusts the
clients CA), REPLICATION (broker to broker) and CONTROLLER (the static three-voter quorum;
both trust the cluster CA). A client certificate's common name is its principal
(CN=verifier is ``User:verifier``). The ``StandardAuthorizer`` refuses whatever no ACL allows;
the brokers (``User:broker``) and the ``admin`` principal (the runner and the tests, standing
in for Strimzi's topic and user operators) are super users. Certificates come from
``deploy.pki.make_dev_pki.ensure_kafka_pki``.

Once the nodes are up, ``wait_ready()`` has the admin create the ACLs of
``deploy.kafka_access.platform_access()`` and the topics of ``services.contracts.topics`` at
replication 3 with ``min.insync.replicas`` 2 (the internal topics get the same), and waits
until every broker knows them. A data dir is reused as it is (cluster id, ACLs, topics).

Usage::

    with LocalKafkaCluster(data_dir, brokers=3, pki_dir=pki) as kafka:
        kafka.bootstrap_servers        # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        kafka.client_env("verifier")   # KAFKA_SECURITY_PROTOCOL=SSL, its certificate, ...
        kafka.admin_cluster            # a KafkaCluster to administer it with (User:admin)
        kafka.nodes[0].kill()          # SIGKILL; kafka.nodes[0].start() brings it back
        await kafka.leader_of("verification.requested.v1", 0)   # a node_id
        await kafka.in_sync_replicas("verification.requested.v1", 0)   # {node_id, ...}

    kafka_client_env(kafka, SERVICES)  # {service: its env}, for Platform.kafka_client_env

``base_port=19092`` puts the client listeners on 19092, 19094, 19096 (controllers on the odd
ports after them, replication after those); without it, every port is a free one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError as AiokafkaError

from deploy.kafka_access import platform_access
from deploy.local.kafka import HOST, KafkaError, LocalKafka, new_cluster_id
from deploy.local.kafka_acls import AclBinding, acls_on, bindings_of, create_acls
from deploy.local.processes import free_port
from deploy.pki.make_dev_pki import (
    KAFKA_ADMIN,
    KAFKA_BROKER,
    KAFKA_CLIENTS_CA,
    KAFKA_CLUSTER_CA,
    ensure_kafka_pki,
)
from services.contracts.topics import ALL_TOPICS
from services.runtime.kafka import ensure_topics, wait_for_group_coordinator
from services.runtime.kafka_cluster import KafkaCluster

REPLICATION_FACTOR = 3
MIN_INSYNC_REPLICAS = 2
# Principals certified from the first start: every service and region of the ACL model.
PRINCIPALS = tuple(access.principal for access in platform_access())
# A common name is the principal; the rest of a distinguished name, if any, is not.
PRINCIPAL_MAPPING = "RULE:^CN=([^,]+)(,.*)?$/$1/,DEFAULT"
_WARMUP_GROUP = "qv-local-cluster-warmup"  # makes the broker create __consumer_offsets
_METADATA_PATIENCE = 30.0  # seconds a killed broker may linger in the metadata clients get

_logger = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class NodePorts:
    client: int
    controller: int
    replication: int


def _escaped(pem: str) -> str:
    """A PEM block as one line of a .properties file (Properties reads `\\n` as a newline)."""
    return pem.strip().replace("\n", "\\n")


class ClusterNode(LocalKafka):
    """One broker+controller of the cluster; ``port`` is its client listener."""

    jvm_heap = ("-Xms192m", "-Xmx384m")

    def __init__(
        self,
        data_dir: Path,
        node_id: int,
        ports: NodePorts,
        *,
        voters: str,
        cluster_id: str,
        tls_dir: Path,
        startup_timeout: float,
    ) -> None:
        super().__init__(data_dir, ports.client, ports.controller, startup_timeout=startup_timeout)
        self.node_id = node_id
        self.ports = ports
        self._voters = voters
        self._cluster_id = cluster_id
        self._tls_dir = tls_dir

    def restart(self) -> None:
        """Controlled shutdown, then a start on the same data."""
        self.stop()
        self.start()

    def format_options(self) -> list[str]:
        return ["-t", self._cluster_id]  # the voters are static: in the config

    def properties(self) -> str:
        tls = self._tls_dir
        key = (tls / f"{KAFKA_BROKER}-key.pem").read_text()
        chain = (tls / f"{KAFKA_BROKER}.pem").read_text()
        p = self.ports
        settings = {
            "node.id": str(self.node_id),
            "process.roles": "broker,controller",
            "listeners": f"CLIENT://{HOST}:{p.client},REPLICATION://{HOST}:{p.replication},"
            f"CONTROLLER://{HOST}:{p.controller}",
            "advertised.listeners": f"CLIENT://{HOST}:{p.client},"
            f"REPLICATION://{HOST}:{p.replication}",
            "listener.security.protocol.map": "CLIENT:SSL,REPLICATION:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "REPLICATION",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": self._voters,
            "log.dirs": str(self.data_dir / "kraft-logs"),
            # Mutual TLS everywhere; the services' certificates come from the clients CA, the
            # brokers' from the cluster CA, and neither is accepted where the other belongs.
            "ssl.client.auth": "required",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.key": _escaped(key),
            "ssl.keystore.certificate.chain": _escaped(chain),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls / f"{KAFKA_CLUSTER_CA}.pem"),
            "listener.name.client.ssl.truststore.location": str(tls / f"{KAFKA_CLIENTS_CA}.pem"),
            "ssl.principal.mapping.rules": PRINCIPAL_MAPPING,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{KAFKA_BROKER};User:{KAFKA_ADMIN}",
            "num.partitions": "1",
            "default.replication.factor": str(REPLICATION_FACTOR),
            "min.insync.replicas": str(MIN_INSYNC_REPLICAS),
            "offsets.topic.replication.factor": str(REPLICATION_FACTOR),
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": str(REPLICATION_FACTOR),
            "transaction.state.log.min.isr": str(MIN_INSYNC_REPLICAS),
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": str(REPLICATION_FACTOR),
            "share.coordinator.state.topic.min.isr": str(MIN_INSYNC_REPLICAS),
            # A killed broker is fenced, and its partitions led elsewhere, within 6 s.
            "broker.heartbeat.interval.ms": "1000",
            "broker.session.timeout.ms": "6000",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())


class LocalKafkaCluster:
    """``brokers`` local KRaft nodes, secured and provisioned; see the module's docstring."""

    def __init__(
        self,
        data_dir: Path,
        brokers: int = 3,
        base_port: int | None = None,
        pki_dir: Path | None = None,
        *,
        startup_timeout: float = 180.0,
    ) -> None:
        if brokers < REPLICATION_FACTOR:
            raise KafkaError(f"a cluster needs {REPLICATION_FACTOR} brokers at least")
        self.data_dir = data_dir
        self.pki_dir = pki_dir or data_dir / "pki"
        self.startup_timeout = startup_timeout
        self.tls_dir = ensure_kafka_pki(self.pki_dir, PRINCIPALS)
        ports = [self._ports(base_port, brokers, index) for index in range(brokers)]
        voters = ",".join(f"{i + 1}@{HOST}:{p.controller}" for i, p in enumerate(ports))
        cluster_id = self._cluster_id()
        self.nodes = [
            ClusterNode(
                data_dir / f"node-{i + 1}",
                i + 1,
                p,
                voters=voters,
                cluster_id=cluster_id,
                tls_dir=self.tls_dir,
                startup_timeout=startup_timeout,
            )
            for i, p in enumerate(ports)
        ]

    @staticmethod
    def _ports(base_port: int | None, brokers: int, index: int) -> NodePorts:
        if base_port is None:
            return NodePorts(free_port(), free_port(), free_port())
        client = base_port + 2 * index
        return NodePorts(client, client + 1, base_port + 2 * brokers + index)

    def _cluster_id(self) -> str:
        """Made once per data dir: every node is formatted with it, now or after a restart."""
        path = self.data_dir / "cluster-id"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    @property
    def admin_cluster(self) -> KafkaCluster:
        return self.client_cluster(KAFKA_ADMIN)

    def client_cluster(self, principal: str) -> KafkaCluster:
        """How `principal` connects: its client certificate, the cluster's durability rule, and
        topics that only the administrator creates."""
        return KafkaCluster.model_validate(
            {k.removeprefix("KAFKA_").lower(): v for k, v in self.client_env(principal).items()}
        )

    def client_env(self, principal: str) -> dict[str, str]:
        """The KAFKA_* variables of a process connecting as `principal` (services/runtime/
        kafka_cluster.py reads them); KAFKA_BOOTSTRAP_SERVERS is `bootstrap_servers`."""
        if not (self.tls_dir / f"{principal}-key.pem").is_file():
            ensure_kafka_pki(self.pki_dir, [principal])
        return {
            "KAFKA_SECURITY_PROTOCOL": "SSL",
            "KAFKA_SSL_CA_FILE": str(self.tls_dir / f"{KAFKA_CLUSTER_CA}.pem"),
            "KAFKA_SSL_CERT_FILE": str(self.tls_dir / f"{principal}.pem"),
            "KAFKA_SSL_KEY_FILE": str(self.tls_dir / f"{principal}-key.pem"),
            "KAFKA_REPLICATION_FACTOR": str(REPLICATION_FACTOR),
            "KAFKA_MIN_INSYNC_REPLICAS": str(MIN_INSYNC_REPLICAS),
            "KAFKA_MANAGE_TOPICS": "false",
        }

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Launches every node's JVM (from this thread: they die with it), once their storage is
        formatted (side by side: each format is a JVM run of its own)."""
        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            for prepared in [pool.submit(node.prepare) for node in self.nodes]:
                prepared.result()
        for node in self.nodes:
            node.spawn()

    def wait_ready(self) -> None:
        """Every node up, then the ACLs and topics made and known to every broker."""
        deadline = time.monotonic() + self.startup_timeout
        try:
            for node in self.nodes:
                node.wait_ready(max(deadline - time.monotonic(), 1.0))
            _run(asyncio.wait_for(self._provision(), max(deadline - time.monotonic(), 1.0)))
        except BaseException:
            self.stop()
            raise

    async def _provision(self) -> None:
        admin = self.admin_cluster
        bindings = set().union(*(bindings_of(access) for access in platform_access()))
        client = AIOKafkaClient(bootstrap_servers=self.bootstrap_servers, **admin.client_options())
        await client.bootstrap()
        try:
            await _until_all_brokers(client, len(self.nodes))
            await create_acls(client, bindings)
            await _until_every_broker_knows(client, bindings)
        finally:
            await client.close()
        manage = admin.model_copy(update={"manage_topics": True})
        await ensure_topics(self.bootstrap_servers, ALL_TOPICS, manage)
        await wait_for_group_coordinator(self.bootstrap_servers, _WARMUP_GROUP, admin)

    async def leader_of(self, topic: str, partition: int) -> int:
        """The node_id of the broker leading `topic`'s `partition` now (-1: none yet)."""
        return int((await self._partition(topic, partition))["leader"])

    async def in_sync_replicas(self, topic: str, partition: int) -> set[int]:
        """The node_ids of the replicas of `topic`'s `partition` in sync with its leader."""
        return {int(node) for node in (await self._partition(topic, partition))["isr"]}

    async def _partition(self, topic: str, partition: int) -> Any:
        """The partition's metadata, asked again while a broker just killed is still named
        in the metadata a client starts from."""
        deadline = time.monotonic() + _METADATA_PATIENCE
        while True:
            try:
                described = await self._describe(topic)
            except AiokafkaError as error:
                if not error.retriable or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
                continue
            for entry in described["partitions"]:
                if entry["partition"] == partition:
                    return entry
            raise KafkaError(f"{topic} has no partition {partition}")

    async def _describe(self, topic: str) -> Any:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, **self.admin_cluster.client_options()
        )
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return described

    def stop(self) -> None:
        """Every node at once: one by one, the last ones would wait for a quorum gone."""
        with concurrent.futures.ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(), self.nodes))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def kafka_client_env(
    cluster: LocalKafkaCluster, services: Iterable[str]
) -> dict[str, dict[str, str]]:
    """`Platform.kafka_client_env`: each service's KAFKA_* variables, by service name (its
    replicas connect as the same principal)."""
    return {service: cluster.client_env(service) for service in services}


async def _until_all_brokers(client: AIOKafkaClient, count: int) -> None:
    while len(client.cluster.brokers()) < count:
        await asyncio.sleep(0.2)
        await client.force_metadata_update()


async def _until_every_broker_knows(client: AIOKafkaClient, bindings: set[AclBinding]) -> None:
    """ACLs travel through the metadata log; each broker applies them on its own time."""
    for broker in client.cluster.brokers():
        while True:
            if bindings <= await acls_on(client, broker.nodeId):
                break
            await asyncio.sleep(0.1)


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Runs `coroutine` to the end from synchronous code, even inside a running event loop
    (a test's): on a loop of its own in a worker thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
