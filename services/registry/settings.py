"""Configuration of the registry from `REGISTRY_*` environment variables, with local defaults."""

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.proxies import TrustedProxies


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", populate_by_name=True)

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
    consumer_group: str = "registry"
    host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    ops_port: int = Field(default=8083, ge=0, le=65535)
    # Public HTTP: the code check anyone may use, the JWKS and the status list.
    public_port: int = Field(default=8084, ge=0, le=65535)
    # Where statements say they come from; the JWKS and status list are published under it.
    public_base_url: str = "http://127.0.0.1:8084"
    public_rate_limit: str = "30/minute"  # per client address, `limits` notation
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks, comma-
    # separated). Empty: the direct peer is the client, whatever the headers say.
    trusted_proxies: TrustedProxies = Field(default_factory=list)
    # Mutual TLS: a directory holding ca.pem, registry.pem and registry-key.pem (as made by
    # deploy/pki/make-dev-pki.py), or the three files one by one. Unset: plaintext (local).
    tls_dir: Path | None = None
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    # Encrypts the signing keys' private halves at rest (PKCS#8 with a passphrase).
    signing_key_passphrase: SecretStr = SecretStr("local-development-only")
    catalogue_file: Path | None = None  # default: the packaged 2025 edition
    grace_seconds: float = Field(default=5.0, ge=0)
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    stream_poll_seconds: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"

    def tls_files(self) -> tuple[Path, Path, Path] | None:
        """(CA, server certificate, server key) when mutual TLS is configured, else None."""
        directory = self.tls_dir
        ca = self.tls_ca_file or (directory / "ca.pem" if directory else None)
        cert = self.tls_cert_file or (directory / "registry.pem" if directory else None)
        key = self.tls_key_file or (directory / "registry-key.pem" if directory else None)
        if ca is None and cert is None and key is None:
            return None
        if ca is None or cert is None or key is None:
            raise ValueError("mutual TLS needs the CA, the certificate and the key together")
        return ca, cert, key
