"""The local cluster's ACL bindings follow deploy.kafka_access: a service writes what it owns,
reads what it consumes under its own groups, and only sees the rest; the console describes all."""

from deploy.kafka_access import platform_access, region_access, service_access
from deploy.local.kafka_acls import CLUSTER_NAME, WILDCARD, AclBinding, Operation, Resource
from deploy.local.kafka_acls import bindings_of as bindings
from deploy.local.kafka_cluster import PRINCIPALS
from services.contracts.topics import (
    ALL_TOPICS,
    OUTCOME_PUBLISHED,
    VERDICT_REACHED,
    VERIFICATION_REQUESTED,
)

REQUESTED, VERDICTS = VERIFICATION_REQUESTED.name, VERDICT_REACHED.name


def allowed(principal: str, resource: Resource, name: str) -> set[Operation]:
    access = {a.principal: a for a in platform_access()}[principal]
    return {
        b.operation
        for b in bindings(access)
        if (b.principal, b.resource, b.name) == (f"User:{principal}", resource, name)
    }


def test_the_verifier_reads_requests_writes_verdicts_and_only_sees_the_rest() -> None:
    assert allowed("verifier", Resource.TOPIC, REQUESTED) == {Operation.READ, Operation.DESCRIBE}
    assert allowed("verifier", Resource.TOPIC, VERDICTS) == {Operation.WRITE, Operation.DESCRIBE}
    assert allowed("verifier", Resource.TOPIC, f"{REQUESTED}.dlq") >= {Operation.WRITE}
    assert allowed("verifier", Resource.TOPIC, OUTCOME_PUBLISHED.name) == {Operation.DESCRIBE}
    assert allowed("verifier", Resource.GROUP, "verifier") == {Operation.READ}
    assert allowed("verifier", Resource.GROUP, WILDCARD) == set()
    assert allowed("verifier", Resource.CLUSTER, CLUSTER_NAME) == set()


def test_every_service_may_at_least_see_every_topic_and_write_only_its_own() -> None:
    for service in ("intake", "verifier", "registry", "notifier", "console"):
        access = service_access(service)
        seen = {b.name for b in bindings(access) if b.operation is Operation.DESCRIBE}
        assert {t.name for t in ALL_TOPICS} <= seen | (
            {WILDCARD} if access.describes_all else set()
        )
        written = {b.name for b in bindings(access) if b.operation is Operation.WRITE}
        assert written == access.writes


def test_the_console_describes_every_topic_group_and_the_cluster() -> None:
    console = bindings(service_access("console"))
    assert AclBinding("User:console", Resource.CLUSTER, CLUSTER_NAME, Operation.DESCRIBE) in console
    assert AclBinding("User:console", Resource.GROUP, WILDCARD, Operation.DESCRIBE) in console
    wildcard = {b.operation for b in console if (b.resource, b.name) == (Resource.TOPIC, WILDCARD)}
    assert wildcard == {Operation.DESCRIBE, Operation.DESCRIBE_CONFIGS}


def test_a_region_reads_only_the_outcomes_under_its_own_group() -> None:
    region = bindings(region_access("tianjin"))
    assert region == {
        AclBinding("User:region-tianjin", Resource.TOPIC, OUTCOME_PUBLISHED.name, Operation.READ),
        AclBinding(
            "User:region-tianjin", Resource.TOPIC, OUTCOME_PUBLISHED.name, Operation.DESCRIBE
        ),
        AclBinding("User:region-tianjin", Resource.GROUP, "region-tianjin", Operation.READ),
    }


def test_every_principal_of_the_model_gets_a_certificate() -> None:
    assert set(PRINCIPALS) == {a.principal for a in platform_access()}
    assert {"intake", "verifier", "registry", "notifier", "console", "region-beijing"} <= set(
        PRINCIPALS
    )
