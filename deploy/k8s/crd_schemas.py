"""The operators' CRD schemas kubeconform checks the manifests against, made from the operators'
published packages at pinned versions and committed in deploy/k8s/schemas/:

    uv run python -m deploy.k8s.crd_schemas   # needs the network, Maven, Java 21+ and Go

- Strimzi publishes no CRD files in a registry, but its model classes (io.strimzi:api) and its
  CRD generator (io.strimzi:crd-generator) are on Maven Central: the generator writes the CRDs
  from the classes, as Strimzi's own build does (pom in deploy/k8s/strimzi-crds/; the generator
  is compiled for Java 21, so set JAVA_HOME to a Java 21+ runtime if `java` is older).
- cert-manager, CloudNativePG, KEDA, external-secrets and the Prometheus operator: the Go module
  proxy serves each repository as a module, with the CRD YAML files in it (`go mod download`).

Each served version of a kind the manifests use becomes `<group>/<kind>_<version>.json`, the
name kubeconform looks for (deploy/k8s/schemas.py), made strict as kubeconform's own
openapi2jsonschema does: an object that declares properties takes no other property unless the
CRD preserves unknown fields there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn

from deploy.k8s.schemas import CRD_DIR

STRIMZI_POM = Path(__file__).resolve().parent / "strimzi-crds" / "pom.xml"
TIMEOUT = 600

Schema = dict[str, Any]


@dataclass(frozen=True, order=True)
class Kind:
    group: str
    version: str
    kind: str

    @property
    def file(self) -> Path:
        return Path(self.group, f"{self.kind.lower()}_{self.version}.json")


# The kinds the overlays use (tests/deploy/test_k8s.py keeps this list in step with them).
USED_KINDS = frozenset(
    {
        *(Kind("cert-manager.io", "v1", k) for k in ("Certificate", "ClusterIssuer", "Issuer")),
        Kind("external-secrets.io", "v1", "ExternalSecret"),
        *(
            Kind("kafka.strimzi.io", "v1beta2", k)
            for k in ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser")
        ),
        *(Kind("keda.sh", "v1alpha1", k) for k in ("ScaledObject", "TriggerAuthentication")),
        *(Kind("monitoring.coreos.com", "v1", k) for k in ("PrometheusRule", "ServiceMonitor")),
        *(Kind("postgresql.cnpg.io", "v1", k) for k in ("Cluster", "ScheduledBackup")),
    }
)


@dataclass(frozen=True)
class GoModule:
    """A Go module whose zip holds CRD YAML files: `<directory>/<group>_<plural>.yaml`."""

    path: str
    version: str
    directory: str
    group: str
    plurals: tuple[str, ...]

    @property
    def crds(self) -> list[str]:
        return [f"{self.directory}/{self.group}_{plural}.yaml" for plural in self.plurals]


GO_MODULES = (
    GoModule(
        "github.com/cert-manager/cert-manager",
        "v1.21.2",
        "deploy/crds",
        "cert-manager.io",
        ("certificates", "clusterissuers", "issuers"),
    ),
    GoModule(
        "github.com/cloudnative-pg/cloudnative-pg",
        "v1.29.0",
        "config/crd/bases",
        "postgresql.cnpg.io",
        ("clusters", "scheduledbackups"),
    ),
    GoModule(
        "github.com/kedacore/keda/v2",
        "v2.21.0",
        "config/crd/bases",
        "keda.sh",
        ("scaledobjects", "triggerauthentications"),
    ),
    GoModule(
        "github.com/external-secrets/external-secrets",
        "v1.3.2",
        "config/crds/bases",
        "external-secrets.io",
        ("externalsecrets",),
    ),
    GoModule(
        "github.com/prometheus-operator/prometheus-operator",
        "v0.85.0",
        "example/prometheus-operator-crd",
        "monitoring.coreos.com",
        ("prometheusrules", "servicemonitors"),
    ),
)

STRIMZI_VERSION = "0.49.1"
# Strimzi publishes its generator only for some releases; 1.2.0 reads 0.49's annotations.
STRIMZI_GENERATOR_VERSION = "1.2.0"
STRIMZI_CLASSES = {
    "kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "kafkanodepool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "kafkatopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "kafkauser": "io.strimzi.api.kafka.model.user.KafkaUser",
}

# --------------------------------------------------------------------------- OpenAPI -> JSON schema

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("additionalProperties", "items", "not")
# Annotations kubeconform cannot use: prose, and CEL rules only the API server evaluates.
_DROPPED = ("description", "x-kubernetes-validations")


def strict(node: Schema) -> Schema:
    """One OpenAPI v3 schema of a CRD as a strict JSON schema, recursively."""
    out: Schema = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key in _SCHEMA_MAPS:
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [strict(sub) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            out[key] = strict(value)
        else:
            out[key] = value
    if out.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
        if all(branch.keys() == {"type"} for branch in out.get("anyOf", [])):
            out.pop("anyOf", None)  # its branches only repeat the two types
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    open_ended = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and not open_ended:
        out.setdefault("additionalProperties", False)
    return out


def resource_schema(kind: Kind, openapi: Schema) -> Schema:
    """The schema of a whole resource: its kind's apiVersion, kind and metadata, then the CRD's."""
    schema = strict(openapi)
    schema["properties"] = {
        **schema.get("properties", {}),
        "apiVersion": {"type": "string", "enum": [f"{kind.group}/{kind.version}"]},
        "kind": {"type": "string", "enum": [kind.kind]},
        "metadata": {"type": "object"},
    }
    schema["type"] = "object"
    schema["additionalProperties"] = False
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return schema


def schemas_of(crd: Schema) -> Iterator[tuple[Kind, Schema]]:
    """Each used kind's served version in a CustomResourceDefinition, as a resource schema."""
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        used = Kind(group, version["name"], kind)
        if version.get("served") and used in USED_KINDS:
            yield used, resource_schema(used, version["schema"]["openAPIV3Schema"])


# --------------------------------------------------------------------------- the packages


def _run(argv: list[str], **env: str) -> str:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        timeout=TIMEOUT,
        env={**os.environ, **env},
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ...: {result.stdout}{result.stderr}")
    return result.stdout


def _yaml_crds(path: Path) -> Iterator[Schema]:
    for document in yaml.safe_load_all(path.read_text()):
        if document and document.get("kind") == "CustomResourceDefinition":
            yield document


def go_module_crds(module: GoModule) -> Iterator[Schema]:
    """The module's CRD files, from the Go module proxy (cached in GOMODCACHE)."""
    info = json.loads(_run(["go", "mod", "download", "-json", f"{module.path}@{module.version}"]))
    for crd_file in module.crds:
        yield from _yaml_crds(Path(info["Dir"], crd_file))


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    return str(Path(java_home, "bin", "java")) if java_home else "java"


def strimzi_crds(work: Path) -> Iterator[Schema]:
    """Strimzi's CRDs as its generator writes them from the model classes on Maven Central."""
    libs, out = work / "libs", work / "crds"
    out.mkdir()
    _run(
        [
            "mvn", "-B", "-q", "-f", str(STRIMZI_POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            f"-Dstrimzi.api.version={STRIMZI_VERSION}",
            f"-Dstrimzi.crd-generator.version={STRIMZI_GENERATOR_VERSION}",
        ]
    )  # fmt: skip
    targets = [f"{cls}={out / name}.yaml" for name, cls in STRIMZI_CLASSES.items()]
    _run([_java(), "-cp", f"{libs}/*", "io.strimzi.crdgenerator.CrdGenerator", "--yaml", *targets])
    for name in STRIMZI_CLASSES:
        yield from _yaml_crds(out / f"{name}.yaml")


def all_crds(work: Path) -> Iterator[Schema]:
    for module in GO_MODULES:
        yield from go_module_crds(module)
    yield from strimzi_crds(work)


def write(schemas: dict[Kind, Schema], out_dir: Path) -> None:
    """Replace the JSON schemas in `out_dir` (its README stays) by `schemas`."""
    for stale in out_dir.glob("*/*.json"):
        stale.unlink()
    for kind, schema in schemas.items():
        path = out_dir / kind.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        schemas = {kind: s for crd in all_crds(Path(work)) for kind, s in schemas_of(crd)}
    if missing := USED_KINDS - schemas.keys():
        print(f"no CRD serves {sorted(missing)}", file=sys.stderr)
        return 1
    write(schemas, CRD_DIR)
    size = sum(CRD_DIR.joinpath(kind.file).stat().st_size for kind in schemas)
    print(f"{len(schemas)} CRD schemas, {size // 1024} KiB, in {CRD_DIR}")
    return 0


if __name__ == "__main__":
    if shutil.which("go") is None or shutil.which("mvn") is None:
        raise SystemExit("needs go and mvn on PATH (and Java 21+: JAVA_HOME)")
    sys.exit(main())
