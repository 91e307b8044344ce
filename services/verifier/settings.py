"""Verifier configuration, from environment variables (prefix VERIFIER_)."""

from pathlib import Path
from typing import ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.reference.channels import DEFAULT_CHANNELS_FILE
from services.runtime.environment import require_outside_development
from services.runtime.kafka_cluster import KafkaCluster


class VerifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VERIFIER_")
    # Secrets required unless QV_ENV=development, and their publicly known development values
    # (the callback secret is the simulator's default SIMULATOR_CALLBACK_SECRET).
    DEVELOPMENT_SECRETS: ClassVar[dict[str, str]] = {
        "callback_secret": "sim-callback-secret",
        "operator_token": "local-operator-token",
    }

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("VERIFIER_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices(
            "VERIFIER_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    # TLS identity, replication and topic ownership: KAFKA_* (services/runtime/kafka_cluster.py).
    kafka_cluster: KafkaCluster = Field(default_factory=KafkaCluster)
    schema_name: str = "verifier"
    bodies_base_url: str = "http://127.0.0.1:8090"
    channels_file: Path = DEFAULT_CHANNELS_FILE
    host: str = "127.0.0.1"
    ops_port: int = 8081
    # Replicas side by side on one machine share `ops_port` (SO_REUSEPORT: the enquiry callbacks
    # and operators' calls reach any of them, as through a Kubernetes Service); each then answers
    # /livez, /readyz and /metrics on its own `health_port` too.
    reuse_port: bool = False
    health_port: int | None = Field(None, ge=0, le=65535)
    pool_size: int = 20
    log_level: str = "INFO"
    # Replicas: each renews its heartbeat this often, valid this long (a dead one drops out of
    # the bodies' concurrency shares after it); channels/limits.py.
    heartbeat_seconds: float = Field(2.0, gt=0)
    heartbeat_ttl_seconds: float = Field(10.0, gt=0)
    # Work in flight: its lease, renewed while a verifier lives; another takes over after it.
    lease_seconds: float = Field(30.0, gt=0)
    max_in_flight: int = Field(5000, ge=1)
    backoff_base_seconds: float = Field(0.2, ge=0)
    # Asynchronous enquiries: where e-mail goes, where answers come back, who may enter them.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    enquiry_sender: str = "verify@qualverify.local"
    callback_base_url: str = "http://127.0.0.1:8081"
    # HMAC key of the enquiry callbacks (the bodies' side holds the same) and the bearer token
    # of operators entering answers: both required outside development.
    callback_secret: SecretStr = SecretStr("")
    operator_token: SecretStr = SecretStr("")
    keys_cache_seconds: float = Field(300.0, ge=0)
    status_list_cache_seconds: float = Field(60.0, ge=0)
    # The recent past of GET /v1/bodies (attempts and failures per awarding body).
    health_window_seconds: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _required_outside_development(self) -> Self:
        return require_outside_development(self, self.DEVELOPMENT_SECRETS)
