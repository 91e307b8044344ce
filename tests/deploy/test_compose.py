"""docker-compose.yml and deploy/k8s stay in step with the local runner.

deploy/local/platform.py is the single source of truth for the processes, their modules, env
vars and ports; the container variants must run the same things, bound to 0.0.0.0.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn
from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

from deploy.k8s import validate as k8s_validate
from deploy.local.platform import (
    REPO_ROOT,
    SIMULATOR_CLIENTS,
    WEBHOOK_CLIENTS,
    Platform,
    Ports,
    service_specs,
)
from deploy.local.supervisor import ServiceSpec
from services.console.settings import ConsoleSettings
from services.contracts.topics import SERVICES
from services.intake.settings import IntakeSettings
from services.notifier.settings import NotifierSettings
from services.registry.settings import RegistrySettings
from services.runtime.egress import EgressSettings
from services.runtime.environment import EnvironmentSettings, env_name
from services.runtime.event_auth import EventAuthSettings
from services.runtime.secret_box import WebhookSecretsSettings
from services.verifier.settings import VerifierSettings
from simulator.settings import SimulatorSettings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
INFRASTRUCTURE = {"kafka", "postgres"}
# The image sets PYTHONPATH itself; the notifier's SMTP is the local mail catcher under the
# runner, a deployment's own relay elsewhere.
LOCAL_ONLY_ENV = {"PYTHONPATH", "NOTIFIER_SMTP_HOST", "NOTIFIER_SMTP_PORT"}
LOCAL_ONLY_PROCESSES = {"mail-catcher"}  # development only: catches the notifier's e-mail
ANY_ADDRESS = "0.0.0.0"

# Which settings each process reads, and which of their fields are listen addresses.
SETTINGS: dict[str, tuple[type[BaseSettings], tuple[str, ...]]] = {
    "simulator": (SimulatorSettings, ("http_host", "smtp_host")),
    "registry": (RegistrySettings, ("host",)),
    "verifier": (VerifierSettings, ("host",)),
    "notifier": (NotifierSettings, ("host",)),
    "intake": (IntakeSettings, ("host",)),
    "console": (ConsoleSettings, ("host",)),
}
# The local runner hands these to every process; a container gets only those it reads.
COMMON_ENV = {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"}
# Every service (not the simulator) reads its event signing keys (docs/event-authenticity.md).
EVENT_KEYS_ENV = {"EVENT_SIGNING_KEY_DIR", "EVENT_TRUST_DIR"}
# Platform-wide settings without a service prefix: the egress allow-list (QV_EGRESS_ALLOW), the
# webhook-secrets key (WEBHOOK_SECRETS_KEY) and the environment flag (QV_ENV), read by the
# services that need them.
PLATFORM_WIDE_SETTINGS: tuple[type[BaseSettings], ...] = (
    EgressSettings,
    WebhookSecretsSettings,
    EnvironmentSettings,
)
EGRESS_ALLOW = "QV_EGRESS_ALLOW"
# The local runner allow-lists this machine for every egress client: the simulator and the
# tests' webhook receivers run on it. In containers the simulator is a host of its own, which
# only the verifier calls; webhook receivers are employers' public https endpoints, so intake
# and the notifier must have no allow-list at all (it would let webhooks reach the simulator).
CONTAINER_EGRESS_ALLOWED = SIMULATOR_CLIENTS
WEBHOOK_SECRETS_READERS = {"intake", "notifier"}  # SecretBox.at_start in their entry points
SECRET_NAME = "qualverify-secrets"

Yaml = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def local_specs() -> dict[str, ServiceSpec]:
    platform = Platform(
        "kafka:9092",
        "postgresql://qualverify@postgres:5432/qualverify",
        Ports(),
        event_keys_dir=Path("/run/qualverify/events"),
    )
    return {
        spec.name: spec
        for spec in service_specs(platform, logs=None)
        if spec.name not in LOCAL_ONLY_PROCESSES
    }


def module_of(spec: ServiceSpec) -> str:
    dash_m = spec.argv.index("-m")
    return spec.argv[dash_m + 1]


def health_port_of(spec: ServiceSpec) -> int:
    port = urlsplit(spec.health_url).port
    assert port is not None, spec.health_url
    return port


def ready_path_of(spec: ServiceSpec) -> str:
    """The path the local runner waits on: readiness (`/readyz`; the simulator's `/healthz`)."""
    assert spec.health_url is not None, spec.name
    return urlsplit(spec.health_url).path


def probe_paths_of(spec: ServiceSpec) -> dict[str, str]:
    """Kubernetes probes: ready as the runner waits; alive (and started) without asking any
    dependency, so an outage of PostgreSQL or Kafka never restarts a pod."""
    ready = ready_path_of(spec)
    live = "/livez" if ready == "/readyz" else ready
    return {"startupProbe": live, "readinessProbe": ready, "livenessProbe": live}


def platform_env(spec: ServiceSpec) -> dict[str, str]:
    return {k: v for k, v in spec.env.items() if k not in LOCAL_ONLY_ENV}


_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: object) -> str:
    """Compose's `${NAME:-default}` with the defaults: the file must work without a .env."""

    def default_of(match: re.Match[str]) -> str:
        default = match.group("default")
        if default is None:
            raise ValueError(f"${{{match.group('name')}}} has no default in {value!r}")
        return default

    return _VARIABLE.sub(default_of, str(value))


def platform_wide_env() -> set[str]:
    return set().union(*(accepted_env_names(s) for s in PLATFORM_WIDE_SETTINGS))


def accepted_env_names(settings: type[BaseSettings]) -> set[str]:
    """The env var names a settings class reads: prefix + field, or its validation aliases."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def settings_mismatches(name: str, env: Mapping[str, str]) -> list[str]:
    """Env names the process would not read, and listen addresses other than 0.0.0.0."""
    settings_class, host_fields = SETTINGS[name]
    unknown = set(env) - accepted_env_names(settings_class) - COMMON_ENV
    if name in SERVICES:
        unknown -= accepted_env_names(EventAuthSettings)
        for shared in PLATFORM_WIDE_SETTINGS:
            unknown -= accepted_env_names(shared)
    problems = [f"{name}: {var} is read by no setting" for var in sorted(unknown)]
    with pytest.MonkeyPatch.context() as patch:
        for var, value in env.items():
            patch.setenv(var, value)
        try:
            settings = settings_class()
        except ValidationError as error:  # e.g. a secret required in production is missing
            return [*problems, f"{name}: does not start: {error}"]
    for host_field in host_fields:
        if (bound := getattr(settings, host_field)) != ANY_ADDRESS:
            problems.append(f"{name}: {host_field} is {bound!r}, not {ANY_ADDRESS}")
    return problems


def env_mismatches(name: str, spec: ServiceSpec, env: Mapping[str, str]) -> list[str]:
    """Same env var names as the local runner, the same ports, and no loopback addresses."""
    expected = platform_env(spec)
    read = accepted_env_names(SETTINGS[name][0])
    required = {var for var in expected if var not in COMMON_ENV or var in read}
    problems: list[str] = []
    if name not in CONTAINER_EGRESS_ALLOWED:
        required.discard(EGRESS_ALLOW)
        if EGRESS_ALLOW in env:
            problems.append(f"{name}: {EGRESS_ALLOW}={env[EGRESS_ALLOW]!r} in a container")
    problems += [f"{name}: {var} missing" for var in sorted(required - set(env))]
    for var, value in expected.items():
        if var.endswith("_PORT") and env.get(var) != value:
            problems.append(f"{name}: {var}={env.get(var)!r}, local runner has {value!r}")
    for var, value in env.items():
        if var in expected and ("127.0.0.1" in value or "localhost" in value):
            problems.append(f"{name}: {var}={value!r} points at the container itself")
    return problems + settings_mismatches(name, env)


# --------------------------------------------------------------------------- compose


def load_compose(path: Path = COMPOSE_FILE) -> Yaml:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def compose_env(service: Yaml) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(k): interpolate(v) for k, v in environment.items()}


def compose_mismatches(compose: Yaml, specs: Mapping[str, ServiceSpec]) -> list[str]:
    services: Yaml = compose.get("services") or {}
    problems: list[str] = []
    if set(services) != set(specs) | INFRASTRUCTURE:
        problems.append(f"services {sorted(services)} != {sorted(set(specs) | INFRASTRUCTURE)}")
    for name, spec in specs.items():
        if name in services:
            problems += compose_service_mismatches(name, spec, services[name], services)
    return problems


def compose_service_mismatches(
    name: str, spec: ServiceSpec, service: Yaml, services: Yaml
) -> list[str]:
    problems: list[str] = []
    if service.get("command") != [module_of(spec)]:
        problems.append(f"{name}: command {service.get('command')} != [{module_of(spec)!r}]")
    if "deploy/container/Dockerfile" not in str(service.get("build")):
        problems.append(f"{name}: not built from deploy/container/Dockerfile")
    health = " ".join(map(str, (service.get("healthcheck") or {}).get("test", [])))
    if f":{health_port_of(spec)}{ready_path_of(spec)}" not in health:
        problems.append(f"{name}: healthcheck {health!r} is not {ready_path_of(spec)} on its port")
    for dependency, condition in (service.get("depends_on") or {}).items():
        if dependency not in services:
            problems.append(f"{name}: depends on unknown {dependency}")
        if (condition or {}).get("condition") != "service_healthy":
            problems.append(f"{name}: depends on {dependency} without service_healthy")
    return problems + env_mismatches(name, spec, compose_env(service))


def test_compose_runs_the_processes_of_the_local_runner() -> None:
    assert compose_mismatches(load_compose(), local_specs()) == []


def test_compose_publishes_intake_and_registry_and_pins_images() -> None:
    services = load_compose()["services"]
    assert any(str(p).endswith(":8080:8080") for p in services["intake"]["ports"])
    assert any(str(p).endswith(":50051:50051") for p in services["registry"]["ports"])
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert re.fullmatch(r"postgres:18(\.\d+)?", services["postgres"]["image"])
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_check_reports_drift_from_the_local_runner() -> None:
    specs = local_specs()
    drifted = copy.deepcopy(load_compose())
    services = drifted["services"]
    services["intake"]["environment"]["INTAKE_PORT"] = "9999"
    services["verifier"]["command"] = ["services.verifer"]
    del services["notifier"]["environment"]["NOTIFIER_HOST"]
    services["registry"]["environment"]["REGISTRY_OPS_PROT"] = "8083"
    services["simulator"]["environment"]["SIMULATOR_HTTP_HOST"] = "127.0.0.1"
    services["intake"]["depends_on"]["kafka"] = {"condition": "service_started"}
    del services["postgres"]

    problems = "\n".join(compose_mismatches(drifted, specs))

    for expected in (
        "services [",
        "intake: INTAKE_PORT='9999'",
        "verifier: command",
        "notifier: host is '127.0.0.1'",
        "registry: REGISTRY_OPS_PROT is read by no setting",
        "simulator: http_host is '127.0.0.1'",
        "intake: depends on kafka without service_healthy",
        "registry: depends on unknown postgres",
    ):
        assert expected in problems


def production_secrets(name: str) -> set[str]:
    """What a service requires outside development (services/runtime/environment.py): its
    settings' secrets, and the webhook-secrets key of those that seal webhook secrets."""
    settings_class = SETTINGS[name][0]
    development_secrets: dict[str, str] = getattr(settings_class, "DEVELOPMENT_SECRETS", {})
    secrets = {env_name(settings_class, field) for field in development_secrets}
    return secrets | ({"WEBHOOK_SECRETS_KEY"} if name in WEBHOOK_SECRETS_READERS else set())


def compose_secret_mismatches(compose: Yaml) -> list[str]:
    """Each service's production secrets can be set, and compose publishes none of them: unset,
    the service uses its development value under QV_ENV=development and refuses otherwise."""
    problems: list[str] = []
    for name, service in compose["services"].items():
        if name not in SERVICES:
            continue
        environment = service.get("environment") or {}
        if interpolate(environment.get("QV_ENV", "")) != "development":
            problems.append(f"{name}: QV_ENV is not development by default")
        for secret in sorted(production_secrets(name)):
            raw = str(environment.get(secret, ""))
            if not raw.startswith("${"):
                problems.append(f"{name}: {secret} cannot be set from the environment")
            elif interpolate(raw):
                problems.append(f"{name}: {secret} has a published default {interpolate(raw)!r}")
    return problems


def test_compose_takes_every_production_secret_and_publishes_none() -> None:
    assert compose_secret_mismatches(load_compose()) == []
    assert production_secrets("verifier") == {"VERIFIER_CALLBACK_SECRET", "VERIFIER_OPERATOR_TOKEN"}
    assert production_secrets("intake") == {
        "INTAKE_HOLDER_REF_KEY",
        "INTAKE_SESSION_SECRET",
        "INTAKE_DATA_KEY",
        "INTAKE_OPERATOR_TOKEN",
        "WEBHOOK_SECRETS_KEY",
    }
    services = load_compose()["services"]
    for name in WEBHOOK_CLIENTS:
        assert EGRESS_ALLOW not in services[name]["environment"], name
    drifted = copy.deepcopy(load_compose())
    drifted["services"]["verifier"]["environment"]["VERIFIER_OPERATOR_TOKEN"] = "${X:-op}"
    del drifted["services"]["notifier"]["environment"]["WEBHOOK_SECRETS_KEY"]
    drifted["services"]["intake"]["environment"][EGRESS_ALLOW] = "${QV_EGRESS_ALLOW:-simulator}"
    problems = "\n".join(
        compose_secret_mismatches(drifted) + compose_mismatches(drifted, local_specs())
    )
    for expected in (
        "verifier: VERIFIER_OPERATOR_TOKEN has a published default 'op'",
        "notifier: WEBHOOK_SECRETS_KEY cannot be set",
        "intake: QV_EGRESS_ALLOW='simulator' in a container",
    ):
        assert expected in problems


def test_interpolation_requires_a_default() -> None:
    assert interpolate("a:${X:-b}@c") == "a:b@c"
    with pytest.raises(ValueError, match="no default"):
        interpolate("${SECRET}")


def compose_command() -> list[str] | None:
    """`docker compose` (the CLI plugin) or a standalone `docker-compose` v2, if installed."""
    docker = shutil.which("docker")
    if docker and _succeeds([docker, "compose", "version"]):
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone and _succeeds([standalone, "version"]):
        return [standalone]
    return None


def _succeeds(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, check=False, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    command = compose_command()
    if command is None:
        pytest.skip(
            "neither the docker compose CLI plugin nor a standalone docker-compose is installed"
        )
    return command


def run_compose_config(cli: list[str], compose_file: Path) -> subprocess.CompletedProcess[str]:
    # `config` only reads and validates the file: no Docker engine is needed.
    return subprocess.run(
        [*cli, "-f", str(compose_file), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=compose_file.parent,
    )


def test_docker_compose_accepts_the_file(compose_cli: list[str]) -> None:
    result = run_compose_config(compose_cli, COMPOSE_FILE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_rejects_a_broken_file(compose_cli: list[str], tmp_path: Path) -> None:
    broken = load_compose()
    broken["services"]["intake"]["depends_on"]["nowhere"] = {"condition": "service_healthy"}
    broken_file = tmp_path / "docker-compose.yml"
    broken_file.write_text(yaml.safe_dump(broken))

    result = run_compose_config(compose_cli, broken_file)

    assert result.returncode != 0
    assert "nowhere" in result.stderr


# --------------------------------------------------------------------------- kubernetes


def load_k8s(overlay: str | Path = "dev") -> list[Yaml]:
    """The rendered overlay (or kustomization directory): dev runs every process of the local
    runner, the simulator too."""
    directory = k8s_validate.OVERLAYS[overlay] if isinstance(overlay, str) else overlay
    return copy.deepcopy(_rendered(directory))


@functools.cache
def _rendered(directory: Path) -> list[Yaml]:
    if k8s_validate.tool("kustomize") is None:
        if os.environ.get("CI"):
            pytest.fail("kustomize is not installed: make k8s-tools")
        pytest.skip("kustomize is not installed: make k8s-tools")
    return k8s_validate.documents(k8s_validate.build(directory))


def of_kind(documents: list[Yaml], kind: str) -> Iterator[Yaml]:
    return (d for d in documents if d.get("kind") == kind)


def k8s_env(container: Yaml, documents: list[Yaml]) -> dict[str, str]:
    """The container's env: its ConfigMaps, then its own entries (Secret refs as placeholders)."""
    config_maps = {
        d["metadata"]["name"]: d.get("data", {}) for d in of_kind(documents, "ConfigMap")
    }
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= {str(k): str(v) for k, v in config_maps[source["configMapRef"]["name"]].items()}
    for item in container.get("env", []):
        env[item["name"]] = str(item.get("value", f"<from {item.get('valueFrom')}>"))
    return env


def k8s_mismatches(documents: list[Yaml], specs: Mapping[str, ServiceSpec]) -> list[str]:
    deployments = {d["metadata"]["name"]: d for d in of_kind(documents, "Deployment")}
    service_names = {d["metadata"]["name"] for d in of_kind(documents, "Service")}
    problems: list[str] = []
    if set(deployments) != set(specs):
        problems.append(f"deployments {sorted(deployments)} != {sorted(specs)}")
    problems += [f"{name}: no Service" for name in sorted(set(specs) - service_names)]
    for name, spec in specs.items():
        if name in deployments:
            problems += deployment_mismatches(name, spec, deployments[name], documents)
    return problems


def deployment_mismatches(
    name: str, spec: ServiceSpec, deployment: Yaml, documents: list[Yaml]
) -> list[str]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    problems: list[str] = []
    if container.get("args") != [module_of(spec)]:
        problems.append(f"{name}: args {container.get('args')} != [{module_of(spec)!r}]")
    if not container.get("resources", {}).get("limits", {}).get("memory"):
        problems.append(f"{name}: no memory limit")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    for probe_kind, path in probe_paths_of(spec).items():
        get = (container.get(probe_kind) or {}).get("httpGet") or {}
        port = ports.get(get.get("port"), get.get("port"))
        if get.get("path") != path or port != health_port_of(spec):
            problems.append(f"{name}: {probe_kind} is not {path} on {health_port_of(spec)}")
    env = {
        var: value
        for var, value in k8s_env(container, documents).items()
        if var in COMMON_ENV | EVENT_KEYS_ENV
        or var.startswith(name.upper() + "_")
        or (name in SERVICES and var in platform_wide_env())
    }
    return problems + env_mismatches(name, spec, env)


def test_k8s_runs_the_processes_of_the_local_runner() -> None:
    assert k8s_mismatches(load_k8s(), local_specs()) == []


# Secrets that an operator makes rather than an ExternalSecret: CloudNativePG's application user.
OPERATOR_SECRETS = {"qualverify-db-app": {"uri", "username", "password", "host", "port", "dbname"}}


def k8s_secret_keys(documents: list[Yaml]) -> dict[str, set[str]]:
    """Each Secret the pods may reference, and its keys: ExternalSecrets' targets (no Secret
    is ever committed) and the operators' own."""
    keys = {name: set(found) for name, found in OPERATOR_SECRETS.items()}
    for external in of_kind(documents, "ExternalSecret"):
        target = external["spec"]["target"]["name"]
        keys[target] = {item["secretKey"] for item in external["spec"].get("data", [])}
    return keys


def k8s_secret_mismatches(documents: list[Yaml]) -> list[str]:
    """Each service takes every production secret from a key an ExternalSecret provides."""
    secrets = k8s_secret_keys(documents)
    problems: list[str] = []
    for deployment in of_kind(documents, "Deployment"):
        name = deployment["metadata"]["name"]
        if name not in SERVICES:
            continue
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        refs = {
            item["name"]: (item.get("valueFrom") or {}).get("secretKeyRef") or {}
            for item in container.get("env", [])
        }
        for secret in sorted(production_secrets(name)):
            ref = refs.get(secret, {})
            if ref.get("key") not in secrets.get(ref.get("name", ""), set()):
                problems.append(f"{name}: {secret} is not taken from a key of a Secret")
    return problems


def test_k8s_takes_every_production_secret_from_the_secret() -> None:
    documents = load_k8s()
    assert k8s_secret_mismatches(documents) == []
    assert k8s_secret_mismatches(load_k8s("prod")) == []
    assert not list(of_kind(load_k8s("prod"), "Secret")), "secrets come from ExternalSecrets"
    (config_map,) = of_kind(documents, "ConfigMap")
    assert config_map["data"]["QV_ENV"] == "production"
    assert EGRESS_ALLOW not in config_map["data"], "shared by intake and the notifier"
    drifted = copy.deepcopy(documents)
    deployments = {d["metadata"]["name"]: d for d in of_kind(drifted, "Deployment")}
    verifier = deployments["verifier"]["spec"]["template"]["spec"]["containers"][0]
    verifier["env"] = [e for e in verifier["env"] if e["name"] != "VERIFIER_OPERATOR_TOKEN"]
    (drifted_config,) = of_kind(drifted, "ConfigMap")
    drifted_config["data"][EGRESS_ALLOW] = "simulator"
    (platform_secrets,) = (
        d for d in of_kind(drifted, "ExternalSecret") if d["metadata"]["name"] == SECRET_NAME
    )
    platform_secrets["spec"]["data"] = [
        item for item in platform_secrets["spec"]["data"] if item["secretKey"] != "INTAKE_DATA_KEY"
    ]
    problems = "\n".join(k8s_secret_mismatches(drifted) + k8s_mismatches(drifted, local_specs()))
    for expected in (
        "verifier: VERIFIER_OPERATOR_TOKEN is not taken from a key of a Secret",
        "verifier: does not start",
        "intake: QV_EGRESS_ALLOW='simulator' in a container",
        "notifier: QV_EGRESS_ALLOW='simulator' in a container",
        "intake: INTAKE_DATA_KEY is not taken from a key of a Secret",
    ):
        assert expected in problems


def test_the_k8s_readme_names_every_key_of_the_secret() -> None:
    keys = k8s_secret_keys(load_k8s("prod"))[SECRET_NAME]
    readme = (K8S_DIR / "README.md").read_text()
    assert keys, "the ExternalSecret qualverify-secrets has no keys"
    assert {key for key in keys if f"`{key}`" not in readme} == set()


def test_k8s_memory_limits_fit_the_budget_and_the_key_is_a_secret() -> None:
    documents = load_k8s()
    for deployment in of_kind(documents, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["limits"]["memory"] == "256Mi"
    config = "\n".join(yaml.safe_dump(d) for d in of_kind(documents, "ConfigMap"))
    assert "HOLDER_REF_KEY" not in config
    assert "DATABASE_URL" not in config  # it carries the password
    (intake,) = (d for d in of_kind(documents, "Deployment") if d["metadata"]["name"] == "intake")
    (container,) = intake["spec"]["template"]["spec"]["containers"]
    key = next(e for e in container["env"] if e["name"] == "INTAKE_HOLDER_REF_KEY")
    assert key["valueFrom"]["secretKeyRef"]["name"] in k8s_secret_keys(documents)


def test_k8s_check_reports_drift_from_the_local_runner() -> None:
    documents = load_k8s()
    deployments = {d["metadata"]["name"]: d for d in of_kind(documents, "Deployment")}
    verifier = deployments["verifier"]["spec"]["template"]["spec"]["containers"][0]
    verifier["readinessProbe"]["httpGet"]["path"] = "/ready"
    del verifier["resources"]["limits"]
    (config_map,) = of_kind(documents, "ConfigMap")
    config_map["data"]["INTAKE_PORT"] = "18080"
    config_map["data"]["REGISTRY_HOST"] = "127.0.0.1"
    documents.remove(deployments["notifier"])

    problems = "\n".join(k8s_mismatches(documents, local_specs()))

    for expected in (
        "deployments [",
        "verifier: readinessProbe is not /readyz",
        "verifier: no memory limit",
        "intake: INTAKE_PORT='18080'",
        "registry: host is '127.0.0.1'",
    ):
        assert expected in problems


def test_every_overlay_builds_into_the_namespace() -> None:
    for overlay in k8s_validate.OVERLAYS:
        built = load_k8s(overlay)
        namespaced = {d["metadata"].get("namespace") for d in built if d["kind"] != "Namespace"}
        assert namespaced == {"qualverify"}, overlay
