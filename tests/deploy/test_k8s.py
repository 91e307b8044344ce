"""The Kubernetes overlays: generated Kafka resources current, schemas strictly valid (no network),
kube-score clean on production, and the platform's rules (replicas, identities, secrets,
network policies, certificates) in the rendered manifests. Parity of processes, env vars and
secrets with the local runner is tests/deploy/test_compose.py."""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn

from deploy.k8s import crd_schemas, generate
from deploy.k8s import validate as k8s
from deploy.k8s.schemas import CORE_DIR, CRD_DIR
from deploy.kafka_access import platform_access
from services.contracts.topics import ALL_TOPICS, PRODUCER_OF, SERVICES
from services.registry.settings import RegistrySettings
from services.runtime.kafka_cluster import KafkaCluster

Manifest = dict[str, Any]
KEDA_SCALED = {"verifier", "notifier", "registry"}  # consumers: they scale on their lag
HPA_SCALED = {"intake", "console"}


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (make k8s-tools)")
    pytest.skip(f"{what} (make k8s-tools)")


@functools.cache
def _rendered(overlay: str) -> str:
    if k8s.tool("kustomize") is None:
        _missing("kustomize is not installed")
    return k8s.build(k8s.OVERLAYS[overlay])


def rendered(overlay: str) -> list[Manifest]:
    return k8s.documents(_rendered(overlay))


def of_kind(documents: list[Manifest], kind: str) -> Iterator[Manifest]:
    return (d for d in documents if d["kind"] == kind)


def named(documents: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {d["metadata"]["name"]: d for d in of_kind(documents, kind)}


def pod_spec(deployment: Manifest) -> Manifest:
    spec: Manifest = deployment["spec"]["template"]["spec"]
    return spec


@pytest.fixture(scope="module")
def crd_dir() -> Path:
    if k8s.tool("kubeconform") is None:
        _missing("kubeconform is not installed")
    if not CORE_DIR.is_dir():
        _missing(f"the Kubernetes schemas are not in {CORE_DIR}")
    return CRD_DIR  # committed: deploy/k8s/crd_schemas.py


# --------------------------------------------------------------------------- generated files


def test_the_generated_kafka_resources_are_current() -> None:
    assert generate.stale(generate.generated()) == [], "run python -m deploy.k8s.generate"


def test_the_check_reports_a_stale_file(tmp_path: Path) -> None:
    files = generate.generated()
    path, text = next(iter(files.items()))
    copied = tmp_path / path.name
    copied.write_text(text.replace("replicas: 3", "replicas: 1"))
    assert generate.stale({copied: text}) == [copied]
    assert generate.stale({tmp_path / "absent.yaml": text}) == [tmp_path / "absent.yaml"]


def test_every_topic_is_replicated_three_times_with_two_in_sync() -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered("prod"), "KafkaTopic")}
    assert set(topics) == {t.name for t in ALL_TOPICS}
    for spec in ALL_TOPICS:
        topic = topics[spec.name]
        assert (topic["partitions"], topic["replicas"]) == (spec.partitions, 3)
        assert topic["config"] == {**spec.configs, "min.insync.replicas": 2}


def _granted(user: Manifest, operation: str) -> set[str]:
    return {
        acl["resource"]["name"]
        for acl in user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and operation in acl["operations"]
    }


def test_each_principal_writes_only_what_it_owns_and_reads_what_it_consumes() -> None:
    users = named(rendered("prod"), "KafkaUser")
    assert set(users) == {a.principal for a in platform_access()}
    for access in platform_access():
        user = users[access.principal]
        assert user["spec"]["authentication"] == {"type": "tls"}
        assert _granted(user, "Write") == set(access.writes)
        assert _granted(user, "Read") == set(access.reads)
        if access.principal == "console":  # it re-drives parked records to their source topic
            continue
        for topic in _granted(user, "Write"):
            assert topic.endswith(".dlq") or PRODUCER_OF[topic] == access.principal, topic
    regions = [u for name, u in users.items() if name.startswith("region-")]
    assert regions and all(_granted(u, "Write") == set() for u in regions)


def test_the_kafka_cluster_is_kraft_with_mutual_tls_and_acls() -> None:
    documents = rendered("prod")
    (kafka,) = of_kind(documents, "Kafka")
    (pool,) = of_kind(documents, "KafkaNodePool")
    assert kafka["metadata"]["annotations"] == {
        "strimzi.io/kraft": "enabled",
        "strimzi.io/node-pools": "enabled",
    }
    assert pool["spec"]["replicas"] == 3
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    listeners = {item["name"]: item for item in kafka["spec"]["kafka"]["listeners"]}
    assert listeners["tls"]["port"] == 9093 and listeners["tls"]["tls"] is True
    assert all(item["authentication"] == {"type": "tls"} for item in listeners.values())
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    assert set(kafka["spec"]["entityOperator"]) == {"topicOperator", "userOperator"}


# --------------------------------------------------------------------------- tools


@pytest.mark.parametrize("overlay", sorted(k8s.OVERLAYS))
def test_kubeconform_accepts_the_overlay_strictly(overlay: str, crd_dir: Path) -> None:
    result = k8s.kubeconform(_rendered(overlay), crd_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


def test_kubeconform_rejects_unknown_fields_of_core_kinds_and_crds(crd_dir: Path) -> None:
    documents = rendered("prod")
    broken_deployment = copy.deepcopy(named(documents, "Deployment")["intake"])
    broken_deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    broken_topic = copy.deepcopy(next(of_kind(documents, "KafkaTopic")))
    broken_topic["spec"]["replicationFactor"] = 3
    broken_database = copy.deepcopy(next(of_kind(documents, "Cluster")))
    broken_database["spec"]["storage"]["sise"] = "10Gi"  # deep in a CRD, not only at its top
    mistyped_scaler = copy.deepcopy(next(of_kind(documents, "ScaledObject")))
    mistyped_scaler["spec"]["minReplicaCount"] = "two"
    unknown_kind = {"apiVersion": "example.org/v1", "kind": "Gadget", "metadata": {"name": "g"}}
    for broken, expected in (
        (broken_deployment, "livenesProbe"),
        (broken_topic, "replicationFactor"),
        (broken_database, "sise"),
        (mistyped_scaler, "minReplicaCount"),
        (unknown_kind, "could not find schema"),
    ):
        result = k8s.kubeconform(yaml.safe_dump(broken), crd_dir)
        assert result.returncode != 0
        assert expected in result.stdout


def test_the_committed_crd_schemas_are_those_of_the_kinds_the_overlays_use() -> None:
    api_versions = {(d["apiVersion"], d["kind"]) for o in k8s.OVERLAYS for d in rendered(o)}
    used = {
        crd_schemas.Kind(api_version.split("/")[0], api_version.split("/")[1], kind)
        for api_version, kind in api_versions
        # Kubernetes' own groups have no dot or end in .k8s.io; the operators' are domains.
        if "." in api_version.split("/")[0] and ".k8s.io/" not in api_version
    }
    assert used == crd_schemas.USED_KINDS
    committed = {p.relative_to(CRD_DIR) for p in CRD_DIR.glob("*/*.json")}
    assert committed == {k.file for k in crd_schemas.USED_KINDS}


def test_a_crd_schema_becomes_strict_where_the_crd_does_not_preserve_unknown_fields() -> None:
    openapi = {
        "type": "object",
        "description": "dropped",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "description": {"type": "string", "description": "a field so named stays"},
                    "size": {
                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                        "x-kubernetes-int-or-string": True,
                    },
                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"n": {"type": "integer"}}},
                    },
                    "note": {"type": "string", "nullable": True},
                },
                "x-kubernetes-validations": [{"rule": "self.size > 0"}],
            }
        },
    }
    kind = crd_schemas.Kind("example.org", "v1", "Gadget")
    schema = crd_schemas.resource_schema(kind, openapi)
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["apiVersion", "kind", "metadata"]
    assert schema["properties"]["kind"] == {"type": "string", "enum": ["Gadget"]}
    assert schema["properties"]["apiVersion"]["enum"] == ["example.org/v1"]
    assert "description" not in schema
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert "x-kubernetes-validations" not in spec
    fields = spec["properties"]
    assert fields["description"] == {"type": "string"}
    assert fields["size"]["type"] == ["integer", "string"] and "anyOf" not in fields["size"]
    assert "additionalProperties" not in fields["config"]
    assert fields["labels"]["additionalProperties"] == {"type": "string"}
    assert fields["items"]["items"]["additionalProperties"] is False
    assert fields["note"]["type"] == ["string", "null"]
    assert kind.file == Path("example.org", "gadget_v1.json")


def test_kube_score_finds_nothing_critical_in_production() -> None:
    if k8s.tool("kube-score") is None:
        _missing("kube-score is not installed")
    result = k8s.kube_score(_rendered("prod"))
    assert "[OK]" in result.stdout, result.stderr
    assert k8s.critical_findings(result.stdout) == []
    broken = [d for d in rendered("prod") if d["kind"] != "PodDisruptionBudget"]
    unguarded = k8s.kube_score("---\n".join(yaml.safe_dump(d) for d in broken))
    assert any("PodDisruptionBudget" in f for f in k8s.critical_findings(unguarded.stdout))


# --------------------------------------------------------------------------- the workloads


def test_production_never_runs_the_simulator_and_dev_does() -> None:
    production = _rendered("prod")
    assert "simulator" not in production
    assert "QV_EGRESS_ALLOW" not in production
    assert "simulator" in named(rendered("dev"), "Deployment")
    assert set(named(rendered("prod"), "Deployment")) == set(SERVICES)


def _autoscaled_minimum(documents: list[Manifest]) -> dict[str, tuple[str, int]]:
    scaled = {
        h["spec"]["scaleTargetRef"]["name"]: ("hpa", h["spec"]["minReplicas"])
        for h in of_kind(documents, "HorizontalPodAutoscaler")
    }
    for scaled_object in of_kind(documents, "ScaledObject"):
        target = scaled_object["spec"]["scaleTargetRef"]["name"]
        assert target not in scaled, f"{target}: an HPA and a ScaledObject would fight"
        scaled[target] = ("keda", scaled_object["spec"]["minReplicaCount"])
    return scaled


def test_every_service_runs_at_least_two_replicas_under_an_autoscaler() -> None:
    documents = rendered("prod")
    scaled = _autoscaled_minimum(documents)
    for service in SERVICES:
        kind, minimum = scaled[service]
        assert kind == ("keda" if service in KEDA_SCALED else "hpa"), service
        assert minimum >= 2, service
        assert "replicas" not in named(documents, "Deployment")[service]["spec"], service


def test_consumers_scale_on_the_lag_of_their_group_over_tls() -> None:
    documents = rendered("prod")
    scaled_objects = named(documents, "ScaledObject")
    authentications = named(documents, "TriggerAuthentication")
    for access in (a for a in platform_access() if a.principal in KEDA_SCALED):
        triggers = [t for t in scaled_objects[access.principal]["spec"]["triggers"]]
        lag = [t for t in triggers if t["type"] == "kafka"]
        assert {t["metadata"]["topic"] for t in lag} == set(access.reads)
        assert {t["metadata"]["consumerGroup"] for t in lag} == set(access.groups)
        for trigger in lag:
            assert trigger["metadata"]["tls"] == "enable"
            auth = authentications[trigger["authenticationRef"]["name"]]
            refs = {r["parameter"]: r["name"] for r in auth["spec"]["secretTargetRef"]}
            assert refs == {
                "ca": "qualverify-cluster-ca-cert",
                "cert": access.principal,
                "key": access.principal,
            }


def test_each_service_has_its_own_account_without_a_token_and_a_disruption_budget() -> None:
    documents = rendered("prod")
    accounts = named(documents, "ServiceAccount")
    budgets = named(documents, "PodDisruptionBudget")
    for name, deployment in named(documents, "Deployment").items():
        spec = pod_spec(deployment)
        assert spec["serviceAccountName"] == name
        assert spec["automountServiceAccountToken"] is False
        assert accounts[name]["automountServiceAccountToken"] is False
        assert budgets[name]["spec"]["selector"] == deployment["spec"]["selector"]
        assert budgets[name]["spec"]["maxUnavailable"] == 1
        keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        (container,) = spec["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True


def _mounted_files(deployment: Manifest, mount_path: str) -> dict[str, tuple[str, str]]:
    """File name -> (secret, key) of the projected volume mounted on `mount_path`."""
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    (mount,) = (m for m in container["volumeMounts"] if m["mountPath"] == mount_path)
    (volume,) = (v for v in spec["volumes"] if v["name"] == mount["name"])
    return {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


def _env(deployment: Manifest, documents: list[Manifest]) -> dict[str, str]:
    (container,) = pod_spec(deployment)["containers"]
    (config,) = of_kind(documents, "ConfigMap")
    env = dict(config["data"])
    env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return env


def test_services_reach_kafka_as_their_own_kafka_user(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = rendered("prod")
    users = named(documents, "KafkaUser")
    for name, deployment in named(documents, "Deployment").items():
        env = _env(deployment, documents)
        for var in KafkaCluster.model_fields:
            monkeypatch.delenv(f"KAFKA_{var.upper()}", raising=False)
        for var, value in env.items():
            if var.startswith("KAFKA_"):
                monkeypatch.setenv(var, value)
        cluster = KafkaCluster()
        assert cluster.security_protocol == "SSL"
        assert (cluster.replication_factor, cluster.min_insync_replicas) == (3, 2)
        assert cluster.manage_topics is False
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "qualverify-kafka-bootstrap:9093"
        files = _mounted_files(deployment, "/etc/qualverify/kafka")
        assert name in users
        assert {Path("/etc/qualverify/kafka", path): source for path, source in files.items()} == {
            cluster.ssl_ca_file: ("qualverify-cluster-ca-cert", "ca.crt"),
            cluster.ssl_cert_file: (name, "user.crt"),
            cluster.ssl_key_file: (name, "user.key"),
        }


def test_every_service_reads_postgres_from_the_cnpg_app_secret_after_the_migrations() -> None:
    documents = rendered("prod")
    (cluster,) = of_kind(documents, "Cluster")
    assert cluster["spec"]["instances"] == 3
    assert cluster["spec"]["backup"]["barmanObjectStore"]["wal"]
    assert next(of_kind(documents, "ScheduledBackup"))["spec"]["cluster"]["name"] == "qualverify-db"
    (migrate,) = of_kind(documents, "Job")
    deployments = [*named(documents, "Deployment").values()]
    for workload in [migrate, *deployments]:
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        (url,) = (e for e in container["env"] if e["name"] == "DATABASE_URL")
        assert url["valueFrom"]["secretKeyRef"] == {"name": "qualverify-db-app", "key": "uri"}
    assert migrate["spec"]["template"]["spec"]["containers"][0]["args"] == ["deploy.migrate"]
    for deployment in deployments:
        assert _env(deployment, documents)["QV_MIGRATE_ON_START"] == "false"


def test_the_registry_and_console_certificates_land_where_they_are_read() -> None:
    documents = rendered("prod")
    certificates = {c["spec"]["secretName"]: c["spec"] for c in of_kind(documents, "Certificate")}
    deployments = named(documents, "Deployment")
    registry_env = _env(deployments["registry"], documents)
    tls_dir = Path(registry_env["REGISTRY_TLS_DIR"])
    settings = RegistrySettings.model_construct(
        tls_dir=tls_dir, tls_ca_file=None, tls_cert_file=None, tls_key_file=None
    )
    registry_files = _mounted_files(deployments["registry"], str(tls_dir))
    read = [path.name for path in settings._tls_paths()]  # the names the registry opens
    assert [registry_files[name] for name in read] == [
        ("registry-grpc-tls", "ca.crt"),
        ("registry-grpc-tls", "tls.crt"),
        ("registry-grpc-tls", "tls.key"),
    ]
    server = certificates["registry-grpc-tls"]
    assert {"registry", "registry.qualverify.svc"} <= set(server["dnsNames"])
    console_files = _mounted_files(deployments["console"], "/etc/qualverify/tls")
    assert console_files["operator.pem"] == ("console-operator-tls", "tls.crt")
    assert certificates["console-operator-tls"]["commonName"] == "operator"
    clients = {
        c["commonName"] for c in certificates.values() if "client auth" in c.get("usages", [])
    }
    assert clients == {"operator", "beijing", "tianjin", "hebei"}
    assert all(c["renewBefore"] and c["duration"] for c in certificates.values())


def test_default_deny_then_an_ingress_policy_for_every_service() -> None:
    documents = rendered("prod")
    policies = named(documents, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for name, deployment in named(documents, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        admitting = [
            p
            for p in policies.values()
            if p["spec"].get("ingress")
            and p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
            and p["spec"]["podSelector"].get("matchLabels")
        ]
        assert admitting, f"{name}: nothing may reach it, not even Prometheus"
        assert labels.get("qualverify.io/kafka-client") == "true"
    internet = policies["internet-egress"]["spec"]
    assert internet["egress"][0]["ports"] == [{"protocol": "TCP", "port": 443}]
    egress_labelled = {
        name
        for name, d in named(documents, "Deployment").items()
        if d["spec"]["template"]["metadata"]["labels"].get("qualverify.io/internet-egress")
    }
    assert egress_labelled == {"intake", "verifier", "notifier"}


def test_no_secret_is_committed_and_every_referenced_secret_is_provided() -> None:
    documents = rendered("prod")
    assert not list(of_kind(documents, "Secret"))
    provided = {e["spec"]["target"]["name"] for e in of_kind(documents, "ExternalSecret")}
    provided |= {"qualverify-db-app", "qualverify-cluster-ca-cert"}  # CNPG's, Strimzi's
    provided |= {u["metadata"]["name"] for u in of_kind(documents, "KafkaUser")}
    provided |= {c["spec"]["secretName"] for c in of_kind(documents, "Certificate")}
    referenced = set(_secret_references(documents))
    assert referenced <= provided, referenced - provided
    assert {f"{s}-event-key" for s in SERVICES} | {"qualverify-event-trust"} <= referenced


def _secret_references(documents: list[Manifest]) -> Iterator[str]:
    for workload in (*of_kind(documents, "Deployment"), *of_kind(documents, "Job")):
        spec = workload["spec"]["template"]["spec"]
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                yield volume["secret"]["secretName"]
            for source in volume.get("projected", {}).get("sources", []):
                yield source["secret"]["name"]
        for container in spec["containers"]:
            for item in container.get("env", []):
                if ref := (item.get("valueFrom") or {}).get("secretKeyRef"):
                    yield ref["name"]
