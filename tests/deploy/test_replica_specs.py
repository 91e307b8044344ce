"""`Platform.replicas`: N processes of each service, sharing its service ports, each checked on
a port of its own."""

from urllib.parse import urlsplit

from deploy.local.platform import (
    REPLICATED,
    Platform,
    Ports,
    replica_names,
    service_of,
    service_specs,
)
from deploy.local.supervisor import ServiceSpec


def specs(replicas: int) -> dict[str, ServiceSpec]:
    platform = Platform("kafka:9092", "postgresql://x", Ports(), replicas=replicas)
    return {spec.name: spec for spec in service_specs(platform, None)}


def health_port(spec: ServiceSpec) -> int:
    assert spec.health_url is not None
    port = urlsplit(spec.health_url).port
    assert port is not None
    return port


def test_one_replica_is_the_platform_as_it_was() -> None:
    one = specs(1)
    assert set(one) == {"mail-catcher", "simulator", *REPLICATED}
    assert not any(
        key.endswith(("_REUSE_PORT", "_HEALTH_PORT")) for s in one.values() for key in s.env
    )
    assert health_port(one["intake"]) == Ports().intake


def test_each_service_runs_twice_with_the_simulator_and_mail_catcher_once() -> None:
    two = specs(2)
    platform = Platform("kafka:9092", "postgresql://x", Ports(), replicas=2)
    assert set(two) == {"mail-catcher", "simulator"} | {
        name for service in REPLICATED for name in replica_names(platform, service)
    }
    assert {service_of(name) for name in two} == {"mail-catcher", "simulator", *REPLICATED}
    for service in REPLICATED:
        first, second = two[service], two[f"{service}-2"]
        assert first.argv == second.argv
        assert first.log_path == second.log_path  # both None here; per name with logs
        assert health_port(first) != health_port(second)


def test_replicas_share_the_service_ports_and_are_checked_on_their_own() -> None:
    two, ports = specs(2), Ports()
    for prefix, shared in (("INTAKE", "INTAKE_PORT"), ("CONSOLE", "CONSOLE_PORT")):
        service = prefix.lower()
        for name in (service, f"{service}-2"):
            env = two[name].env
            assert env[f"{prefix}_REUSE_PORT"] == "true"
            assert env[shared] == two[service].env[shared]
            assert health_port(two[name]) == int(env[f"{prefix}_HEALTH_PORT"])
    for name in ("verifier", "verifier-2"):
        assert two[name].env["VERIFIER_OPS_PORT"] == str(ports.verifier_ops)  # callbacks: any
        assert health_port(two[name]) == int(two[name].env["VERIFIER_HEALTH_PORT"])
    for name in ("registry", "registry-2"):
        assert two[name].env["REGISTRY_PUBLIC_PORT"] == str(ports.registry_public)
        assert two[name].env["REGISTRY_GRPC_PORT"] == str(ports.registry_grpc)
        assert two[name].env["REGISTRY_REUSE_PORT"] == "true"
        assert health_port(two[name]) == int(two[name].env["REGISTRY_OPS_PORT"])
    assert two["registry"].env["REGISTRY_OPS_PORT"] == str(ports.registry_ops)
    assert two["notifier"].env["NOTIFIER_OPS_PORT"] == str(ports.notifier_ops)
    assert two["notifier-2"].env["NOTIFIER_OPS_PORT"] != str(ports.notifier_ops)


def test_a_process_name_tells_its_service() -> None:
    assert service_of("verifier-2") == "verifier"
    assert service_of("verifier") == "verifier"
    assert service_of("mail-catcher") == "mail-catcher"
