"""Configuration of the registry from `REGISTRY_*` environment variables, with local defaults."""

from pathlib import Path
from typing import ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime import environment
from services.runtime.environment import require_outside_development
from services.runtime.kafka_cluster import KafkaCluster
from services.runtime.proxies import TrustedProxies


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", populate_by_name=True)
    # Secrets required unless QV_ENV=development, and their publicly known development values.
    DEVELOPMENT_SECRETS: ClassVar[dict[str, str]] = {
        "signing_key_passphrase": "local-development-only"
    }

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("REGISTRY_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices(
            "REGISTRY_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    # TLS identity, replication and topic ownership: KAFKA_* (services/runtime/kafka_cluster.py).
    kafka_cluster: KafkaCluster = Field(default_factory=KafkaCluster)
    consumer_group: str = "registry"
    host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)  # always mutual TLS
    # Opt-in plaintext port for anonymous callers, who get the public level only: LookupCode
    # (masked name) and the catalogue reads. Unset: no plaintext port at all.
    plaintext_port: int | None = Field(default=None, ge=0, le=65535)
    # Largest request accepted (RESOURCE_EXHAUSTED beyond); every request fits in a few KB.
    max_receive_message_bytes: int = Field(default=64 * 1024, ge=1024)
    # Largest response sent: a full page of verifications with their statements is ~300 KB.
    max_send_message_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    ops_port: int = Field(default=8083, ge=0, le=65535)
    # Public HTTP: the code check anyone may use, the JWKS and the status list.
    public_port: int = Field(default=8084, ge=0, le=65535)
    # Replicas side by side on one machine share the public port (SO_REUSEPORT), as behind a
    # Kubernetes Service (gRPC shares its ports by default); each keeps its own `ops_port`.
    reuse_port: bool = False
    # Where statements say they come from; the JWKS and status list are published under it.
    public_base_url: str = "http://127.0.0.1:8084"
    public_rate_limit: str = "30/minute"  # per client address, `limits` notation
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks, comma-
    # separated). Empty: the direct peer is the client, whatever the headers say.
    trusted_proxies: TrustedProxies = Field(default_factory=list)
    # Mutual TLS (required): a directory holding ca.pem, registry.pem and registry-key.pem (as
    # made by deploy/pki/make_dev_pki.py), or the three files one by one.
    tls_dir: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Encrypts the signing keys' private halves at rest (PKCS#8 with a passphrase). Required
    # unless QV_ENV=development (services/runtime/environment.py).
    signing_key_passphrase: SecretStr | None = None
    catalogue_file: Path | None = None  # default: the packaged 2025 edition
    grace_seconds: float = Field(default=5.0, ge=0)
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    stream_poll_seconds: float = Field(default=1.0, gt=0)
    # How often the progress of open StreamOutcomes subscriptions is written (never per message).
    subscriber_write_seconds: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _required_outside_development(self) -> Self:
        require_outside_development(self, self.DEVELOPMENT_SECRETS)
        self._tls_paths()
        return self

    def passphrase(self) -> str:
        """The signing keys' passphrase; a fixed one only in development."""
        given = self.signing_key_passphrase and self.signing_key_passphrase.get_secret_value()
        return given or DEVELOPMENT_PASSPHRASE

    def tls_files(self) -> tuple[Path, Path, Path]:
        """(CA, server certificate, server key) of the mutual-TLS port, each a readable file."""
        paths = self._tls_paths()
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise ValueError(f"mutual TLS files not found: {', '.join(missing)}")
        return paths

    def _tls_paths(self) -> tuple[Path, Path, Path]:
        directory = self.tls_dir
        ca = self.tls_ca_file or (directory / "ca.pem" if directory else None)
        cert = self.tls_cert_file or (directory / "registry.pem" if directory else None)
        key = self.tls_key_file or (directory / "registry-key.pem" if directory else None)
        if ca is None or cert is None or key is None:
            raise ValueError(
                "mutual TLS is required: set REGISTRY_TLS_DIR (ca.pem, registry.pem, "
                "registry-key.pem) or REGISTRY_TLS_CA_FILE, _CERT_FILE and _KEY_FILE together"
            )
        return ca, cert, key


DEVELOPMENT_PASSPHRASE = RegistrySettings.DEVELOPMENT_SECRETS["signing_key_passphrase"]


def load_settings() -> RegistrySettings:
    """The settings from the environment, or exit with one line saying what is wrong."""
    return environment.load_settings(RegistrySettings, "registry")
