"""Intake configuration, from environment variables (prefix INTAKE_)."""

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("INTAKE_DATABASE_URL", "DATABASE_URL"),
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092",
        validation_alias=AliasChoices("INTAKE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    host: str = "127.0.0.1"
    port: int = 8080
    schema_name: str = "intake"
    pool_size: int = 20
    # Key of the pseudonymous holder reference; the same in every deployment of one platform.
    holder_ref_key: SecretStr = SecretStr("local-development-holder-ref-key")
    default_turnaround_seconds: float = 10.0
    log_level: str = "INFO"
