"""Intake configuration, from environment variables (prefix INTAKE_)."""

from pathlib import Path
from typing import ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.reference.channels import DEFAULT_CHANNELS_FILE
from services.runtime.environment import require_outside_development
from services.runtime.kafka_cluster import KafkaCluster


class IntakeDatabaseSettings(BaseSettings):
    """Where intake keeps its data: all the operator's commands (`services.intake.admin`) need,
    so they run without the service's secrets."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("INTAKE_DATABASE_URL", "DATABASE_URL"),
    )
    schema_name: str = "intake"


class IntakeOperatorSettings(IntakeDatabaseSettings):
    """What the operator's approval commands need besides the database: where the approval mail
    tells an employer to sign in. (The mail's sealing key is WEBHOOK_SECRETS_KEY.)"""

    # Where the web platform is reached from outside: the links in account e-mails point here.
    web_base_url: str = "http://127.0.0.1:8086"


class IntakeSettings(IntakeOperatorSettings):
    # Secrets required unless QV_ENV=development, and their publicly known development values.
    DEVELOPMENT_SECRETS: ClassVar[dict[str, str]] = {
        "holder_ref_key": "local-development-holder-ref-key",
        "session_secret": "local-development-employer-session-secret",
        "operator_token": "local-operator-token",
        "data_key": "bG9jYWwtZGV2ZWxvcG1lbnQtZW1wbG95ZXItZGF0YS0=",
    }

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices("INTAKE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    # TLS identity, replication and topic ownership: KAFKA_* (services/runtime/kafka_cluster.py).
    kafka_cluster: KafkaCluster = Field(default_factory=KafkaCluster)
    host: str = "127.0.0.1"
    port: int = 8080
    # Processes serving the port together (SO_REUSEPORT): one per core is about right.
    workers: int = Field(1, ge=1, le=16)
    # Replicas side by side on one machine share both ports (SO_REUSEPORT), as behind a
    # Kubernetes Service; each then answers /livez, /readyz and /metrics on its own
    # `health_port` too, so a supervisor checks the replica it started (not a sibling worker).
    reuse_port: bool = False
    health_port: int | None = Field(None, ge=0, le=65535)
    pool_size: int = 20
    # Key of the pseudonymous holder reference; the same in every deployment of one platform.
    holder_ref_key: SecretStr = SecretStr("")  # required outside development
    # The verifier's channel book: required fields and configured turnaround per body.
    channels_file: Path = DEFAULT_CHANNELS_FILE
    # Observed turnaround replaces the configured one after this many answers of a body.
    turnaround_min_samples: int = Field(3, ge=1)
    # Weight of the newest answer time in a body's exponentially weighted mean.
    turnaround_smoothing: float = Field(0.3, gt=0, le=1)
    max_batch_rows: int = Field(500, ge=1)
    # How often a replica re-reads the withdrawals another replica may have consumed.
    catalogue_refresh_seconds: float = Field(5.0, gt=0)
    log_level: str = "INFO"
    # The employer web platform (services/intake/web), on its own port next to the API.
    web_port: int = 8086
    # The public check page (the registry's public port); the report's QR code links to it.
    public_check_url: str = "http://127.0.0.1:8084/check"
    # Signs the session cookie; the cookie holds only a session token, the session is in
    # PostgreSQL.
    session_secret: SecretStr = SecretStr("")  # required outside development
    session_hours: float = Field(8.0, gt=0)
    # Cookies go over HTTPS only, as behind TLS in any deployment; `make run` serves plain HTTP
    # on loopback and turns this off.
    secure_cookies: bool = True
    # Failed sign-ins in a row before a user is locked out, and the first lock's length (it
    # doubles with each further failure).
    lockout_after: int = Field(5, ge=1)
    lockout_seconds: float = Field(30.0, gt=0)
    # How long the links in account e-mails stay valid.
    email_link_hours: float = Field(24.0, gt=0)
    # Operators' calls (the console approving employers) carry this bearer token.
    operator_token: SecretStr = SecretStr("")  # required outside development
    # Seals users' TOTP secrets at rest (AES-256-GCM, base64 of 32 bytes).
    data_key: SecretStr = SecretStr("")  # required outside development
    # The CJK font the verification reports embed (a subset of it); Debian's fonts-wqy-microhei.
    report_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

    @model_validator(mode="after")
    def _required_outside_development(self) -> Self:
        return require_outside_development(self, self.DEVELOPMENT_SECRETS)

    @property
    def own_service_urls(self) -> list[str]:
        """The platform's own addresses intake knows: never an employer's webhook, whatever the
        egress allow-list admits."""
        return [self.web_base_url, self.public_check_url]
