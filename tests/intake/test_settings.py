"""Intake's holder-reference key and the notifier's internal-API token are required outside
development; only `QV_ENV=development` falls back on the published development values. The
operator's commands need neither."""

import os
from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.settings import IntakeDatabaseSettings, IntakeSettings
from tests.runtime.startup import refused_start


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("INTAKE_") or name == "QV_ENV":
            monkeypatch.delenv(name)


# The web platform's secrets, given where a test is about the others.
WEB_SECRETS: dict[str, Any] = {"session_secret": "s", "operator_token": "o", "data_key": "ZGF0YQ=="}
WEB_SECRETS_ENV = {"INTAKE_" + name.upper(): value for name, value in WEB_SECRETS.items()}


def test_the_holder_key_and_web_secrets_are_required_outside_development() -> None:
    expected = (
        "INTAKE_HOLDER_REF_KEY, INTAKE_SESSION_SECRET, "
        r"INTAKE_OPERATOR_TOKEN, INTAKE_DATA_KEY are required \(or set QV_ENV=development\)"
    )
    with pytest.raises(ValidationError, match=expected):
        IntakeSettings()
    with pytest.raises(ValidationError, match=r"^(?s:.*)INTAKE_HOLDER_REF_KEY is required"):
        IntakeSettings(holder_ref_key="", **WEB_SECRETS)
    given = IntakeSettings(holder_ref_key="k", **WEB_SECRETS)
    assert given.holder_ref_key.get_secret_value() == "k"


def test_development_uses_the_built_in_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    settings = IntakeSettings()
    assert settings.holder_ref_key.get_secret_value() == "local-development-holder-ref-key"


def test_the_operator_s_commands_need_no_secrets() -> None:
    assert IntakeDatabaseSettings().schema_name == "intake"


def test_the_entry_point_refuses_to_start_with_one_line() -> None:
    lines = refused_start(
        "services.intake", "INTAKE_", {"INTAKE_SESSION_SECRET": "s", "INTAKE_DATA_KEY": "ZGF0YQ=="}
    )
    assert lines == [
        "intake cannot start: INTAKE_HOLDER_REF_KEY, INTAKE_OPERATOR_TOKEN are required "
        "(or set QV_ENV=development)"
    ]


def test_a_missing_webhook_key_stops_start_up_with_one_line() -> None:
    lines = refused_start(
        "services.intake",
        "INTAKE_",
        {"INTAKE_HOLDER_REF_KEY": "k", **WEB_SECRETS_ENV},
    )
    assert len(lines) == 1
    assert lines[0].startswith("intake cannot start: WEBHOOK_SECRETS_KEY is not set")
