"""Simulator settings from env vars prefixed SIMULATOR_ (nested fields use `__`)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from simulator.faults import FaultConfig
from simulator.population import DEFAULT_POPULATION_SIZE


class SimulatorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIMULATOR_", env_nested_delimiter="__")

    http_host: str = "127.0.0.1"
    http_port: int = Field(8090, ge=0, le=65535)  # 0 = pick a free port
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(8025, ge=0, le=65535)
    seed: int = 20250101
    population_size: int = Field(DEFAULT_POPULATION_SIZE, ge=50, le=100_000)
    # The valid credential-API key of body `b` is f"{api_key_base}-{b}-key".
    api_key_base: str = "sim"
    # Shared secret of the HMAC-SHA256 X-Simulator-Signature on enquiry callbacks.
    callback_secret: str = "sim-callback-secret"
    # Enquiry answers take `enquiry_delay_days` simulated days; one real second stands for
    # `time_scale` simulated seconds (17280: a day passes in 5 s, the default 2 days in 10 s).
    enquiry_delay_days: float = Field(2.0, ge=0)
    time_scale: float = Field(17280.0, gt=0)
    callback_attempts: int = Field(5, ge=1)
    callback_retry_seconds: float = Field(1.0, ge=0)  # doubles after each failed attempt
    # Optional JSON file: {"default": {...FaultConfig}, "bodies": {"aws": {...}}}.
    faults_file: Path | None = None
    # e.g. SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS=0
    default_faults: FaultConfig = Field(default_factory=FaultConfig)
    # Issuer URLs in signed credentials; None = the URL the request came in on.
    public_base_url: str | None = None
    log_level: str = "INFO"
    shutdown_grace_seconds: float = Field(5.0, ge=0)

    def api_key_for(self, body_id: str) -> str:
        return f"{self.api_key_base}-{body_id}-key"

    def enquiry_delay_seconds(self, delay_days: float) -> float:
        return delay_days * 86400.0 / self.time_scale
