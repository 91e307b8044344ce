"""The notifier's one secret, the webhook-secrets key, is required outside development; only
`QV_ENV=development` falls back on the published development key."""

import os

import pytest

from tests.runtime.startup import refused_start

# The placeholder deploy/k8s/secret.yaml ships: not base64, so it must not start.
PLACEHOLDER_KEY = "CHANGE-ME-openssl-rand-base64-32"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("NOTIFIER_") or name == "QV_ENV":
            monkeypatch.delenv(name)


def test_the_entry_point_refuses_to_start_without_the_key_with_one_line() -> None:
    assert refused_start("services.notifier", "NOTIFIER_", {}) == [
        "notifier cannot start: WEBHOOK_SECRETS_KEY is not set: give intake and the notifier "
        "the same 32-byte key in base64 (e.g. `openssl rand -base64 32`), or set "
        "QV_ENV=development on a development machine"
    ]


def test_a_malformed_webhook_key_stops_start_up_with_one_line() -> None:
    lines = refused_start(
        "services.notifier", "NOTIFIER_", {"WEBHOOK_SECRETS_KEY": PLACEHOLDER_KEY}
    )
    assert lines == [
        "notifier cannot start: WEBHOOK_SECRETS_KEY is not 32 bytes in base64: generate one "
        "with `openssl rand -base64 32` and give intake and the notifier the same"
    ]
