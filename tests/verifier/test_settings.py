"""The verifier's secrets (enquiry callback HMAC key, operator token) are required outside
development; only `QV_ENV=development` falls back on the published development values."""

import os

import pytest
from pydantic import ValidationError

from services.verifier.settings import VerifierSettings
from tests.runtime.startup import refused_start


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("VERIFIER_") or name == "QV_ENV":
            monkeypatch.delenv(name)


def test_the_callback_secret_and_operator_token_are_required_outside_development() -> None:
    expected = (
        "VERIFIER_CALLBACK_SECRET, VERIFIER_OPERATOR_TOKEN are required "
        r"\(or set QV_ENV=development\)"
    )
    with pytest.raises(ValidationError, match=expected):
        VerifierSettings()
    with pytest.raises(ValidationError, match=r"^(?s:.*)VERIFIER_OPERATOR_TOKEN is required"):
        VerifierSettings(callback_secret="s", operator_token="")
    given = VerifierSettings(callback_secret="s", operator_token="t")
    assert given.callback_secret.get_secret_value() == "s"
    assert given.operator_token.get_secret_value() == "t"


def test_development_uses_the_simulator_s_callback_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    settings = VerifierSettings()
    assert settings.callback_secret.get_secret_value() == "sim-callback-secret"
    assert settings.operator_token.get_secret_value() == "local-operator-token"


def test_the_entry_point_refuses_to_start_with_one_line() -> None:
    lines = refused_start(
        "services.verifier",
        "VERIFIER_",
        {"VERIFIER_OPERATOR_TOKEN": "t"},
    )
    assert lines == [
        "verifier cannot start: VERIFIER_CALLBACK_SECRET is required (or set QV_ENV=development)"
    ]
