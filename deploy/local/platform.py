"""The platform as separate processes: the simulator and the four services, wired together.

Used by the local runner (`make run`) and by the end-to-end tests, so both start the same thing.
"""

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from deploy.local.processes import free_port
from deploy.local.supervisor import RestartPolicy, ServiceSpec
from deploy.pki.make_dev_pki import ensure_dev_pki
from services.contracts.topics import SERVICES
from services.runtime.environment import ENV_VARIABLE

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PATHS = {"simulator": "healthz"}  # the services answer /readyz (and /livez)
DEVELOPMENT_EGRESS_ALLOW = "127.0.0.1,::1,localhost"
# They call URLs, so they read QV_EGRESS_ALLOW: the verifier calls the awarding bodies (here the
# simulator), intake and the notifier employers' webhook receivers (here on this machine too).
SIMULATOR_CLIENTS = {"verifier"}
WEBHOOK_CLIENTS = {"notifier", "intake"}
EGRESS_CLIENTS = SIMULATOR_CLIENTS | WEBHOOK_CLIENTS
DEV_PKI_DIR = REPO_ROOT / ".local" / "pki"


@dataclass(frozen=True)
class Ports:
    intake: int = 8080
    verifier_ops: int = 8081
    notifier_ops: int = 8082
    registry_ops: int = 8083
    registry_grpc: int = 50051
    registry_public: int = 8084
    simulator_http: int = 8090
    simulator_smtp: int = 8025
    mail_smtp: int = 1025  # the mail catcher: where the notifier's e-mail goes
    mail_http: int = 8089
    console: int = 8085
    employer_web: int = 8086  # intake's employer pages

    @classmethod
    def free(cls) -> "Ports":
        return cls(**{f.name: free_port() for f in fields(cls)})


@dataclass(frozen=True)
class Platform:
    kafka_bootstrap_servers: str
    database_url: str
    ports: Ports
    # Event signing keys of all four services (deploy.pki.make_dev_pki); None: from the env.
    event_keys_dir: Path | None = None
    # The development CA and certificates of the registry's mutual TLS (made when missing).
    tls_dir: Path = DEV_PKI_DIR
    # Per service (or replica) name: how it reaches a secured Kafka cluster (KAFKA_SECURITY_
    # PROTOCOL, its client certificate, replication, KAFKA_MANAGE_TOPICS); empty: one plain
    # development broker.
    kafka_client_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Processes per service, under the same consumer groups (the simulator and mail catcher: 1).
    replicas: int = 1

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.intake}"

    @property
    def employer_web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.employer_web}"

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.registry_public}"

    @property
    def registry_target(self) -> str:
        return f"127.0.0.1:{self.ports.registry_grpc}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.console}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.simulator_http}"


def service_specs(
    platform: Platform,
    logs: Path | None,
    extra_env: dict[str, str] | None = None,
    restart: RestartPolicy | None = None,
) -> list[ServiceSpec]:
    """One spec per process; `extra_env` lets tests tune a service (e.g. retry time scale);
    `restart`: restart what exits by itself (the local runner), else leave it dead (tests).
    With `platform.replicas` > 1 each service runs that many processes under its consumer
    groups, sharing its public ports (SO_REUSEPORT, as a Kubernetes Service spreads them)
    while each is health-checked on a port of its own."""
    ports = platform.ports
    tls_dir = str(ensure_dev_pki(platform.tls_dir))
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": platform.kafka_bootstrap_servers,
        "DATABASE_URL": platform.database_url,
        "PYTHONPATH": str(REPO_ROOT),
    }

    def spec(
        name: str, module: str, health_port: int, env: dict[str, str], service: str | None = None
    ) -> ServiceSpec:
        service = service or name
        return ServiceSpec(
            name=name,
            argv=[sys.executable, "-m", module],
            # Started means ready: its dependencies answer (the simulator has none).
            health_url=f"http://127.0.0.1:{health_port}/{READY_PATHS.get(name, 'readyz')}",
            env=common
            | dict(platform.kafka_client_env.get(name, platform.kafka_client_env.get(service, {})))
            | _event_keys_env(service, platform.event_keys_dir)
            | _development_env(service)
            | env
            | (extra_env or {}),
            cwd=REPO_ROOT,
            log_path=None if logs is None else logs / f"{name}.log",
            startup_timeout=60.0,
            restart=restart,
        )

    def replicated(
        service: str, module: str, env: dict[str, str], own: OwnPorts
    ) -> list[ServiceSpec]:
        specs = []
        for number in range(1, platform.replicas + 1):
            health_port, own_env = own(number)
            name = replica_name(service, number)
            specs.append(spec(name, module, health_port, env | own_env, service))
        return specs

    shared = platform.replicas > 1

    def own_health(prefix: str, service_port: int) -> OwnPorts:
        """Health on the service port when alone; on a port of its own among replicas."""
        if not shared:
            return lambda _: (service_port, {})
        chosen = {k: free_port() for k in range(1, platform.replicas + 1)}
        return lambda k: (
            chosen[k],
            {f"{prefix}_REUSE_PORT": "true", f"{prefix}_HEALTH_PORT": str(chosen[k])},
        )

    def own_ops(variable: str, first_port: int, reuse: dict[str, str]) -> OwnPorts:
        """A separate ops port already: the first replica keeps the known one."""
        chosen = {k: first_port if k == 1 else free_port() for k in range(1, platform.replicas + 1)}
        return lambda k: (chosen[k], {variable: str(chosen[k])} | (reuse if shared else {}))

    return [
        spec(
            "mail-catcher",
            "deploy.local.mail_catcher",
            ports.mail_http,
            {
                "MAILCATCHER_SMTP_PORT": str(ports.mail_smtp),
                "MAILCATCHER_HTTP_PORT": str(ports.mail_http),
                "MAILCATCHER_DIRECTORY": str(mail_directory(logs)),
            },
        ),
        spec(
            "simulator",
            "simulator",
            ports.simulator_http,
            {
                "SIMULATOR_HTTP_PORT": str(ports.simulator_http),
                "SIMULATOR_SMTP_PORT": str(ports.simulator_smtp),
            },
        ),
        *replicated(
            "registry",
            "services.registry",
            {
                "REGISTRY_GRPC_PORT": str(ports.registry_grpc),
                "REGISTRY_PUBLIC_PORT": str(ports.registry_public),
                "REGISTRY_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports.registry_public}",
                "REGISTRY_TLS_DIR": tls_dir,
            },
            own_ops("REGISTRY_OPS_PORT", ports.registry_ops, {"REGISTRY_REUSE_PORT": "true"}),
        ),
        *replicated(
            "verifier",
            "services.verifier",
            {
                "VERIFIER_OPS_PORT": str(ports.verifier_ops),
                "VERIFIER_BODIES_BASE_URL": platform.simulator_url,
                "VERIFIER_SMTP_PORT": str(ports.simulator_smtp),
                "VERIFIER_CALLBACK_BASE_URL": f"http://127.0.0.1:{ports.verifier_ops}",
            },
            own_health("VERIFIER", ports.verifier_ops),
        ),
        *replicated(
            "notifier",
            "services.notifier",
            {
                "NOTIFIER_SMTP_HOST": "127.0.0.1",  # the mail catcher
                "NOTIFIER_SMTP_PORT": str(ports.mail_smtp),
            },
            own_ops("NOTIFIER_OPS_PORT", ports.notifier_ops, {}),
        ),
        *replicated(
            "intake",
            "services.intake",
            {
                "INTAKE_PORT": str(ports.intake),
                "INTAKE_WEB_PORT": str(ports.employer_web),
                "INTAKE_WEB_BASE_URL": platform.employer_web_url,
                "INTAKE_PUBLIC_CHECK_URL": f"{platform.public_url}/check",
                # Plain HTTP on loopback: cookies without the Secure flag, here only.
                "INTAKE_SECURE_COOKIES": "false",
            },
            own_health("INTAKE", ports.intake),
        ),
        *replicated(
            "console",
            "services.console",
            {
                "CONSOLE_PORT": str(ports.console),
                "CONSOLE_REGISTRY_TARGET": platform.registry_target,
                "CONSOLE_REGISTRY_TLS_DIR": tls_dir,
                "CONSOLE_VERIFIER_URL": f"http://127.0.0.1:{ports.verifier_ops}",
                "CONSOLE_INTAKE_URL": platform.intake_url,
                # Plain HTTP on loopback: cookies without the Secure flag, here only.
                "CONSOLE_SECURE_COOKIES": "false",
            },
            own_health("CONSOLE", ports.console),
        ),
    ]


# Replica number (from 1) -> (the port its readiness is checked on, its own env).
OwnPorts = Callable[[int], tuple[int, dict[str, str]]]

REPLICATED = ("registry", "verifier", "notifier", "intake", "console")


def replica_name(service: str, number: int) -> str:
    """The process name of a service's replica: "verifier", "verifier-2", ..."""
    return service if number == 1 else f"{service}-{number}"


def service_of(name: str) -> str:
    """The service a process name is a replica of ("verifier-2" -> "verifier")."""
    service, _, number = name.rpartition("-")
    return service if service in REPLICATED and number.isdigit() else name


def replica_names(platform: Platform, service: str) -> list[str]:
    return [replica_name(service, k) for k in range(1, platform.replicas + 1)]


def mail_directory(logs: Path | None) -> Path:
    """Where the mail catcher keeps the e-mails it receives, as `.eml` files."""
    return (logs if logs is not None else REPO_ROOT / ".local" / "logs") / "mail"


def _development_env(name: str) -> dict[str, str]:
    """Development only: the simulator and webhook receivers are on this machine (the egress
    allow-list); `QV_ENV=development` lets every service use its built-in development secrets
    (services/runtime/environment.py reads it; the simulator does not)."""
    env = {ENV_VARIABLE: "development"} if name in SERVICES else {}
    if name in EGRESS_CLIENTS:
        env["QV_EGRESS_ALLOW"] = DEVELOPMENT_EGRESS_ALLOW
    return env


def _event_keys_env(name: str, keys_dir: Path | None) -> dict[str, str]:
    """The services' event signing keys (docs/event-authenticity.md); None: from the env."""
    if keys_dir is None or name not in SERVICES:
        return {}
    return {"EVENT_SIGNING_KEY_DIR": str(keys_dir), "EVENT_TRUST_DIR": str(keys_dir)}
