"""Verifier configuration, from environment variables (prefix VERIFIER_)."""

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.verifier.channels.config import DEFAULT_CHANNELS_FILE


class VerifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VERIFIER_")

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
    schema_name: str = "verifier"
    registry_target: str = "127.0.0.1:50051"
    bodies_base_url: str = "http://127.0.0.1:8090"
    channels_file: Path = DEFAULT_CHANNELS_FILE
    host: str = "127.0.0.1"
    ops_port: int = 8081
    max_batch: int = 500
    pool_size: int = 20
    log_level: str = "INFO"
