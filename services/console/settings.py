"""Console configuration, from environment variables (prefix CONSOLE_)."""

from pathlib import Path
from typing import ClassVar, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.environment import require_outside_development
from services.runtime.kafka_cluster import KafkaCluster

DEFAULT_TLS_DIR = Path(__file__).resolve().parents[2] / ".local" / "pki"


class ConsoleDatabaseSettings(BaseSettings):
    """Where the console keeps its data: all the admin commands (`services.console.admin`)
    need, so they run without the service's secrets."""

    model_config = SettingsConfigDict(env_prefix="CONSOLE_")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("CONSOLE_DATABASE_URL", "DATABASE_URL"),
    )
    schema_name: str = "console"


class ConsoleSettings(ConsoleDatabaseSettings):
    # Secrets required unless QV_ENV=development, and their publicly known development values.
    DEVELOPMENT_SECRETS: ClassVar[dict[str, str]] = {
        "session_secret": "local-development-console-session-secret",
        "verifier_operator_token": "local-operator-token",
        "intake_operator_token": "local-operator-token",
        "data_key": "bG9jYWwtZGV2ZWxvcG1lbnQtY29uc29sZS1kYXRhLWs=",
    }

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices("CONSOLE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    # TLS identity, replication and topic ownership: KAFKA_* (services/runtime/kafka_cluster.py).
    kafka_cluster: KafkaCluster = Field(default_factory=KafkaCluster)
    host: str = "127.0.0.1"
    port: int = 8085
    # Replicas side by side on one machine share the port (SO_REUSEPORT), as behind a
    # Kubernetes Service; each then answers /livez, /readyz and /metrics on its own
    # `health_port` too, so a supervisor checks the replica it started.
    reuse_port: bool = False
    health_port: int | None = Field(None, ge=0, le=65535)
    pool_size: int = 10
    log_level: str = "INFO"
    # Signs the session cookie; the cookie holds only a session id, the session is in PostgreSQL.
    session_secret: SecretStr = SecretStr("")  # required outside development
    session_hours: float = Field(12.0, gt=0)
    # Cookies are sent over HTTPS only, as in any deployment behind TLS; `make run` serves
    # plain HTTP on loopback and turns this off.
    secure_cookies: bool = True
    # Failed sign-ins in a row before an account is locked, and the first lock's length (it
    # doubles with each further failure).
    lockout_after: int = Field(5, ge=1)
    lockout_seconds: float = Field(30.0, gt=0)
    # The registry, reached as the `operator` mutual-TLS identity.
    registry_target: str = "127.0.0.1:50051"
    registry_tls_dir: Path = DEFAULT_TLS_DIR
    # The verifier's operator API (awarding bodies, enquiries) and its operator token.
    verifier_url: str = "http://127.0.0.1:8081"
    verifier_operator_token: SecretStr = SecretStr("")  # required outside development
    # Intake's operator API (approving employers' sign-ups) and its operator token.
    intake_url: str = "http://127.0.0.1:8080"
    intake_operator_token: SecretStr = SecretStr("")  # required outside development
    # Seals holder names in the console's own store (AES-256-GCM, base64 of 32 bytes).
    data_key: SecretStr = SecretStr("")  # required outside development
    # Topics and dead letters: the broker's offsets are sampled this often into PostgreSQL and
    # kept this long; rates are measured over the window; a hop whose oldest unconsumed record
    # is older than `stall_seconds` is stalled.
    sample_seconds: float = Field(5.0, gt=0)
    sample_retention_hours: float = Field(24.0, gt=0)
    rate_window_seconds: float = Field(30.0, gt=0)
    stall_seconds: float = Field(60.0, gt=0)
    # The flow of verifications: the default window of the funnel and hops (measured in
    # PostgreSQL), and how many of the window's newest requests are searched for the list behind
    # a number. A request the verifier has not taken on within `stuck_pickup_seconds`, or
    # decided but not published within `stuck_notify_seconds`, is stuck;
    # `qv_verifications_stuck` is recounted every `stuck_check_seconds`.
    flow_window_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    flow_max_rows: int = Field(5_000, ge=100)
    stuck_pickup_seconds: float = Field(120.0, gt=0)
    stuck_notify_seconds: float = Field(60.0, gt=0)
    stuck_check_seconds: float = Field(15.0, gt=0)
    # Holders' names (sealed, for the audited opening of a request) are kept this many days
    # after the request was accepted, then forgotten (the masked form stays).
    name_retention_days: float = Field(30.0, gt=0)
    # The catalogue watch: a qualification in force that nobody asked to verify for this many
    # months is flagged dormant.
    dormant_months: int = Field(6, ge=1, le=120)

    @model_validator(mode="after")
    def _required_outside_development(self) -> Self:
        return require_outside_development(self, self.DEVELOPMENT_SECRETS)
