"""The platform's one environment flag (`QV_ENV`) and the secrets it unlocks."""

import pytest
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.local.platform import Platform, Ports, service_specs
from services.contracts.topics import SERVICES
from services.runtime.environment import (
    EnvironmentSettings,
    is_development,
    load_settings,
    require_outside_development,
)


class ExampleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXAMPLE_")

    token: SecretStr = SecretStr("")
    other_token: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _required(self) -> "ExampleSettings":
        return require_outside_development(self, {"token": "dev-token", "other_token": "dev-2"})


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QV_ENV", raising=False)
    assert EnvironmentSettings().env == "production"
    assert not is_development()
    monkeypatch.setenv("QV_ENV", "development")
    assert is_development()


def test_an_unknown_environment_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "prod")
    with pytest.raises(ValueError, match=r"^QV_ENV must be production or development, not 'prod'$"):
        is_development()
    with pytest.raises(SystemExit) as stopped:
        load_settings(ExampleSettings, "example")
    assert str(stopped.value) == (
        "example cannot start: QV_ENV must be production or development, not 'prod'"
    )


def test_secrets_are_required_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QV_ENV", raising=False)
    monkeypatch.setenv("EXAMPLE_OTHER_TOKEN", "  ")  # blank is unset
    with pytest.raises(SystemExit) as stopped:
        load_settings(ExampleSettings, "example")
    assert str(stopped.value) == (
        "example cannot start: EXAMPLE_TOKEN, EXAMPLE_OTHER_TOKEN are required "
        "(or set QV_ENV=development)"
    )
    monkeypatch.setenv("EXAMPLE_TOKEN", "t1")
    monkeypatch.setenv("EXAMPLE_OTHER_TOKEN", "t2")
    given = load_settings(ExampleSettings, "example")
    assert (given.token.get_secret_value(), given.other_token.get_secret_value()) == ("t1", "t2")


def test_development_fills_in_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    monkeypatch.setenv("EXAMPLE_TOKEN", "mine")
    settings = ExampleSettings()
    assert settings.token.get_secret_value() == "mine"
    assert settings.other_token.get_secret_value() == "dev-2"


def test_the_local_runner_sets_development_for_every_service_and_only_them() -> None:
    platform = Platform("kafka:9092", "postgresql://x", Ports())
    flags = {spec.name: spec.env.get("QV_ENV") for spec in service_specs(platform, None)}
    assert {name for name, flag in flags.items() if flag == "development"} == set(SERVICES)
    assert set(flags.values()) == {"development", None}
