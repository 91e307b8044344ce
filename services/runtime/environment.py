"""The platform's one environment flag, `QV_ENV`: `production` (the default) or `development`.

Only `development` (make run, the tests, compose's try-out) lets a service fall back on its
built-in, publicly known secrets (webhook-secrets key, signing-key passphrase, internal tokens,
holder-reference key). Anywhere else each of them is required, and a service without one
refuses to start with one line naming the variable.
"""

import os
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings

ENV_VARIABLE = "QV_ENV"
DEVELOPMENT_HINT = f"(or set {ENV_VARIABLE}=development)"

Settings = TypeVar("Settings", bound=BaseSettings)


class EnvironmentSettings(BaseSettings):
    env: Literal["production", "development"] = Field(
        "production", validation_alias=AliasChoices(ENV_VARIABLE)
    )


def is_development() -> bool:
    """Whether `QV_ENV=development`; any value but the two is refused (a ValueError)."""
    try:
        return EnvironmentSettings().env == "development"
    except ValidationError:
        given = os.environ.get(ENV_VARIABLE, "")
        raise ValueError(
            f"{ENV_VARIABLE} must be production or development, not {given!r}"
        ) from None


def env_name(settings_class: type[BaseSettings], field: str) -> str:
    """The environment variable a settings field is read from."""
    alias = settings_class.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0]).upper()
    if isinstance(alias, str):
        return alias.upper()
    return f"{settings_class.model_config.get('env_prefix', '')}{field}".upper()


def require_outside_development(
    settings: Settings, development_values: Mapping[str, str]
) -> Settings:
    """Each secret field named in `development_values` that is unset or empty takes its
    development value under `QV_ENV=development`; anywhere else one ValueError names them all."""
    missing = [field for field in development_values if not _given(getattr(settings, field))]
    if not missing:
        return settings
    if not is_development():
        names = ", ".join(env_name(type(settings), field) for field in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"{names} {verb} required {DEVELOPMENT_HINT}")
    for field in missing:
        setattr(settings, field, SecretStr(development_values[field]))
    return settings


def load_settings(settings_class: type[Settings], service: str) -> Settings:
    """The service's settings from the environment, or exit with one line saying what is wrong."""
    try:
        return settings_class()
    except ValidationError as error:
        prefix = str(settings_class.model_config.get("env_prefix", ""))
        problems = "; ".join(_problem(prefix, detail) for detail in error.errors())
        raise SystemExit(f"{service} cannot start: {problems}") from None


def _problem(prefix: str, detail: Any) -> str:
    message = str(detail["msg"]).removeprefix("Value error, ")
    location = ".".join(str(part) for part in detail["loc"])
    if not location:
        return message
    name = location.upper()
    return f"{name if name.startswith(prefix) else prefix + name}: {message}"


def _given(value: object) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return isinstance(value, str) and bool(value.strip())
