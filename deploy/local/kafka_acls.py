"""The local cluster's ACLs: what `deploy.kafka_access` allows each principal, as Kafka ACL
bindings, and the two Kafka requests that create and list them.

aiokafka's admin client has no ACL methods, but it speaks the protocol's CreateAcls and
DescribeAcls; one CreateAcls request carries every binding of the platform, so provisioning
takes one round trip instead of a JVM run (Kafka's AclCommand) per principal and operation.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DescribeAclsRequest,
)
from aiokafka.protocol.api import Request

from deploy.kafka_access import KafkaAccess

# The protocol's codes (org.apache.kafka.common.acl / resource).
ANY = 1
LITERAL = 3
ALLOW = 3
ALL_HOSTS = "*"
CLUSTER_NAME = "kafka-cluster"
WILDCARD = "*"


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Operation(IntEnum):
    READ = 3
    WRITE = 4
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


@dataclass(frozen=True, order=True)
class AclBinding:
    """`principal` may `operation` on one resource (literal name), from any host."""

    principal: str  # "User:<common name>"
    resource: Resource
    name: str
    operation: Operation


def bindings_of(access: KafkaAccess) -> set[AclBinding]:
    """WRITE/DESCRIBE on what it writes, READ/DESCRIBE on what it reads, READ on its groups,
    DESCRIBE on what it only sees; for `describes_all`, DESCRIBE/DESCRIBE_CONFIGS on every topic
    and DESCRIBE on every group and on the cluster."""
    principal = f"User:{access.principal}"

    def each(resource: Resource, names: Iterable[str], *operations: Operation) -> set[AclBinding]:
        return {AclBinding(principal, resource, n, op) for n in names for op in operations}

    bindings = (
        each(Resource.TOPIC, access.writes, Operation.WRITE, Operation.DESCRIBE)
        | each(Resource.TOPIC, access.reads, Operation.READ, Operation.DESCRIBE)
        | each(Resource.GROUP, access.groups, Operation.READ)
        | each(Resource.TOPIC, access.describes, Operation.DESCRIBE)
    )
    if access.describes_all:
        bindings |= (
            each(Resource.TOPIC, [WILDCARD], Operation.DESCRIBE, Operation.DESCRIBE_CONFIGS)
            | each(Resource.GROUP, [WILDCARD], Operation.DESCRIBE)
            | each(Resource.CLUSTER, [CLUSTER_NAME], Operation.DESCRIBE)
        )
    return bindings


class _CreateAcls(Request[CreateAclsRequest_v1]):  # type: ignore[misc]
    """CreateAcls v1 (Kafka 2.0+; Kafka 4 no longer takes v0) with many bindings at once."""

    API_KEY = 30

    def __init__(self, bindings: Sequence[AclBinding]) -> None:
        self._creations = [
            (b.resource, b.name, LITERAL, b.principal, ALL_HOSTS, b.operation, ALLOW)
            for b in bindings
        ]

    def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
        return request_struct_class(self._creations)


async def create_acls(client: AIOKafkaClient, bindings: Iterable[AclBinding]) -> None:
    """Creates the bindings (an existing one is left as it is); raises on any refused."""
    ordered = sorted(bindings)
    response = await client.send(client.get_random_node(), _CreateAcls(ordered))
    for binding, result in zip(ordered, response.to_object()["creation_responses"], strict=True):
        if result["error_code"]:
            error = for_code(result["error_code"])
            raise error(f"ACL {binding} refused: {result['error_message']}")


async def acls_on(client: AIOKafkaClient, node_id: int) -> set[AclBinding]:
    """Every ALLOW binding the broker `node_id` knows (its copy of the cluster's metadata)."""
    every = DescribeAclsRequest(ANY, None, ANY, None, None, ANY, ANY)
    response = (await client.send(node_id, every)).to_object()
    if response["error_code"]:
        raise for_code(response["error_code"])(response["error_message"])
    return {
        AclBinding(acl["principal"], Resource(r["resource_type"]), r["resource_name"], op)
        for r in response["resources"]
        for acl in r["acls"]
        if acl["permission_type"] == ALLOW
        and (op := _known_operation(acl["operation"])) is not None
    }


def _known_operation(code: int) -> Operation | None:
    try:
        return Operation(code)
    except ValueError:
        return None
