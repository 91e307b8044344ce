"""Configuration of the registry from `REGISTRY_*` environment variables, with local defaults."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:15432/postgres",
        validation_alias=AliasChoices("REGISTRY_DATABASE_URL", "DATABASE_URL"),
    )
    host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    ops_port: int = Field(default=8083, ge=0, le=65535)
    grace_seconds: float = Field(default=5.0, ge=0)
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    log_level: str = "INFO"
