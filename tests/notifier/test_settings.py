"""The notifier's internal-API token and webhook-secrets key are required outside
development; only `QV_ENV=development` falls back on the published development values."""

import os

import pytest
from pydantic import ValidationError

from services.notifier.settings import NotifierSettings
from tests.runtime.startup import refused_start

# The placeholder deploy/k8s/secret.yaml ships: not base64, so it must not start.
PLACEHOLDER_KEY = "CHANGE-ME-openssl-rand-base64-32"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOTIFIER_") or name == "QV_ENV":
            monkeypatch.delenv(name)


def test_the_internal_token_is_required_outside_development() -> None:
    expected = r"NOTIFIER_INTERNAL_TOKEN is required \(or set QV_ENV=development\)"
    with pytest.raises(ValidationError, match=expected):
        NotifierSettings()
    with pytest.raises(ValidationError, match=expected):
        NotifierSettings(internal_token="")
    assert NotifierSettings(internal_token="t").internal_token.get_secret_value() == "t"


def test_development_uses_the_built_in_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    token = NotifierSettings().internal_token.get_secret_value()
    assert token == "local-development-internal-token"


def test_the_entry_point_refuses_to_start_with_one_line() -> None:
    assert refused_start("services.notifier", "NOTIFIER_", {}) == [
        "notifier cannot start: NOTIFIER_INTERNAL_TOKEN is required (or set QV_ENV=development)"
    ]


def test_a_malformed_webhook_key_stops_start_up_with_one_line() -> None:
    lines = refused_start(
        "services.notifier",
        "NOTIFIER_",
        {"NOTIFIER_INTERNAL_TOKEN": "t", "WEBHOOK_SECRETS_KEY": PLACEHOLDER_KEY},
    )
    assert lines == [
        "notifier cannot start: WEBHOOK_SECRETS_KEY is not 32 bytes in base64: generate one "
        "with `openssl rand -base64 32` and give intake and the notifier the same"
    ]
