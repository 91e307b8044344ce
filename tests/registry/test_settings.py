"""The registry's start-up configuration: mutual TLS and a signing-key passphrase are
required; only an explicit development mode may use the built-in passphrase."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.registry.settings import DEVELOPMENT_PASSPHRASE, RegistrySettings
from tests.registry.support import session_pki

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REGISTRY_") or name == "QV_ENV":
            monkeypatch.delenv(name)


def test_the_passphrase_is_required_outside_development() -> None:
    with pytest.raises(ValidationError, match="REGISTRY_SIGNING_KEY_PASSPHRASE is required"):
        RegistrySettings(tls_dir=session_pki())
    with pytest.raises(ValidationError, match="REGISTRY_SIGNING_KEY_PASSPHRASE is required"):
        RegistrySettings(tls_dir=session_pki(), signing_key_passphrase="")


def test_development_may_use_the_built_in_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    assert RegistrySettings(tls_dir=session_pki()).passphrase() == DEVELOPMENT_PASSPHRASE
    given = RegistrySettings(tls_dir=session_pki(), signing_key_passphrase="s3cret")
    assert given.passphrase() == "s3cret"


def test_mutual_tls_is_required() -> None:
    with pytest.raises(ValidationError, match="mutual TLS is required: set REGISTRY_TLS_DIR"):
        RegistrySettings(signing_key_passphrase="s3cret")
    settings = RegistrySettings(signing_key_passphrase="s3cret", tls_dir=Path("/nonexistent"))
    with pytest.raises(ValueError, match=r"mutual TLS files not found: /nonexistent/ca\.pem"):
        settings.tls_files()


def test_the_plaintext_port_is_off_unless_asked_for() -> None:
    settings = RegistrySettings(signing_key_passphrase="s3cret", tls_dir=session_pki())
    assert settings.plaintext_port is None


def test_the_entry_point_refuses_to_start_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_") and k != "QV_ENV"}
    env["REGISTRY_TLS_DIR"] = str(session_pki())
    result = subprocess.run(
        [sys.executable, "-m", "services.registry"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "registry cannot start: REGISTRY_SIGNING_KEY_PASSPHRASE is required "
        "(or set QV_ENV=development)"
    ]
