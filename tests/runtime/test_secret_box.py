"""Sealed webhook secrets: bound to employer and URL, tamper-evident, key required in production."""

import base64
from pathlib import Path
from uuid import uuid4

import pytest

from services.runtime.secret_box import (
    InvalidSecretsKey,
    MissingSecretsKey,
    SecretBox,
    SecretBoxError,
    WebhookSecretsSettings,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
URL = "https://hooks.example.cn/in"


def test_a_sealed_secret_opens_only_for_its_employer_and_url() -> None:
    box, employer = SecretBox(b"k" * 32), uuid4()
    sealed = box.seal(SECRET, employer, URL)
    assert "whsec_" not in sealed and SECRET[6:] not in sealed
    assert box.unseal(sealed, employer, URL) == SECRET
    assert box.seal(SECRET, employer, URL) != sealed, "a fresh nonce each time"
    for other_employer, other_url in ((uuid4(), URL), (employer, URL + "2")):
        with pytest.raises(SecretBoxError):
            box.unseal(sealed, other_employer, other_url)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretBoxError):
        box.unseal(tampered, employer, URL)
    with pytest.raises(SecretBoxError, match="sealed under key"):
        SecretBox(b"o" * 32).unseal(sealed, employer, URL)


def test_the_key_is_required_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY", raising=False)
    monkeypatch.setenv("QV_ENV", "production")
    with pytest.raises(MissingSecretsKey, match="WEBHOOK_SECRETS_KEY"):
        SecretBox.from_env()
    monkeypatch.setenv("QV_ENV", "development")
    development = SecretBox.from_env()
    key = base64.b64encode(b"p" * 32).decode()
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", key)
    configured = SecretBox.from_settings(WebhookSecretsSettings())
    assert configured.key_id != development.key_id, "a configured key wins over development's"


@pytest.mark.parametrize("key", ["CHANGE-ME-openssl-rand-base64-32", base64.b64encode(b"k" * 16)])
def test_a_malformed_key_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, key: str | bytes
) -> None:
    """Not base64 (a placeholder left in a secret store) or not 32 bytes: one line naming the
    variable, never a binascii traceback, in development too."""
    monkeypatch.setenv("WEBHOOK_SECRETS_KEY", key.decode() if isinstance(key, bytes) else key)
    with pytest.raises(InvalidSecretsKey, match=r"^WEBHOOK_SECRETS_KEY is not 32 bytes in base64"):
        SecretBox.from_env()
    with pytest.raises(SystemExit) as stopped:
        SecretBox.at_start("notifier")
    assert str(stopped.value).startswith("notifier cannot start: WEBHOOK_SECRETS_KEY is not")
    assert "\n" not in str(stopped.value)


def test_a_missing_key_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY", raising=False)
    monkeypatch.setenv("QV_ENV", "production")
    with pytest.raises(SystemExit) as stopped:
        SecretBox.at_start("intake")
    assert str(stopped.value).startswith("intake cannot start: WEBHOOK_SECRETS_KEY is not set")
