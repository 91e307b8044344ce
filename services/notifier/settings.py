"""Notifier configuration, from environment variables (prefix NOTIFIER_)."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierSettings(BaseSettings):
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
    schema_name: str = "notifier"
    host: str = "127.0.0.1"
    ops_port: int = 8082
    # Compresses the retry schedule (1.0 = about 27 hours); tests use a small factor.
    retry_time_scale: float = 1.0
    pool_size: int = 10
    log_level: str = "INFO"
