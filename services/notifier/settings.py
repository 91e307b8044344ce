"""Notifier configuration, from environment variables (prefix NOTIFIER_)."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.kafka_cluster import KafkaCluster


class NotifierSettings(BaseSettings):
    """Its one secret, WEBHOOK_SECRETS_KEY, is read by `SecretBox.at_start`."""

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("NOTIFIER_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices(
            "NOTIFIER_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    # TLS identity, replication and topic ownership: KAFKA_* (services/runtime/kafka_cluster.py).
    kafka_cluster: KafkaCluster = Field(default_factory=KafkaCluster)
    schema_name: str = "notifier"
    host: str = "127.0.0.1"
    ops_port: int = 8082
    # Compresses the retry schedule (1.0 = about 27 hours); tests use a small factor.
    retry_time_scale: float = 1.0
    delivery_timeout_seconds: float = 10.0
    # A claimed delivery whose sender died is taken up again after this long.
    lease_seconds: float = 30.0
    max_in_flight: int = 64
    # No employer holds more of those slots than this, so a hanging receiver delays only its own.
    max_in_flight_per_employer: int = 8
    # After a secret rotation the previous secret keeps signing for this long.
    secret_grace_seconds: float = 24 * 3600.0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "notifications@qualverify.local"
    smtp_timeout_seconds: float = 10.0
    pool_size: int = 20
    log_level: str = "INFO"
