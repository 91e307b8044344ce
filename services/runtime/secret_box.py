"""Webhook signing secrets sealed with AES-256-GCM: how they are stored (intake, notifier) and
how they travel on Kafka, where only intake and the notifier hold the key.

The associated data binds a sealed secret to its employer and endpoint URL, so a sealed value
copied onto another employer's or URL's record does not open. A sealed value reads
`v1.<key id>.<base64url(nonce || ciphertext)>`; the key id names the key that sealed it, so a
value sealed under another key fails with a clear error instead of an authentication tag error.

The key (`WEBHOOK_SECRETS_KEY`, 32 bytes in base64) is required unless `QV_ENV=development`;
only then does a fixed, publicly known development key stand in.
"""

import base64
import binascii
import hashlib
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings

from services.runtime.environment import is_development

VERSION = "v1"
_NONCE_BYTES = 12
_DEVELOPMENT_KEY = hashlib.sha256(b"qualverify local development webhook secrets key").digest()


class SecretBoxError(ValueError):
    """A sealed secret that does not open (another key, another endpoint, or tampered)."""


class MissingSecretsKey(RuntimeError):
    """Outside development, the sealing key must be configured."""


class InvalidSecretsKey(MissingSecretsKey):
    """A configured sealing key that is not 32 bytes in base64: as good as none."""


class WebhookSecretsSettings(BaseSettings):
    # Required unless QV_ENV=development (services/runtime/environment.py), where the built-in
    # key stands in.
    key: SecretStr | None = Field(None, validation_alias=AliasChoices("WEBHOOK_SECRETS_KEY"))


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the webhook secrets key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"key id:" + key).hexdigest()[:8]

    @classmethod
    def from_settings(cls, settings: WebhookSecretsSettings) -> "SecretBox":
        if settings.key is not None and settings.key.get_secret_value():  # "" means unset
            return cls(_decoded_key(settings.key.get_secret_value()))
        if is_development():
            return cls(_DEVELOPMENT_KEY)
        raise MissingSecretsKey(
            "WEBHOOK_SECRETS_KEY is not set: give intake and the notifier the same 32-byte key "
            "in base64 (e.g. `openssl rand -base64 32`), or set QV_ENV=development on a "
            "development machine"
        )

    @classmethod
    def from_env(cls) -> "SecretBox":
        return cls.from_settings(WebhookSecretsSettings())

    @classmethod
    def at_start(cls, service: str) -> "SecretBox":
        """The box from the environment, or exit with one line saying what is wrong."""
        try:
            return cls.from_env()
        except (MissingSecretsKey, ValueError) as error:  # ValueError: a QV_ENV of neither
            raise SystemExit(f"{service} cannot start: {error}") from None

    def seal(self, secret: str, employer_id: UUID, url: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), _bound_to(employer_id, url))
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.key_id}.{body}"

    def unseal(self, sealed: str, employer_id: UUID, url: str) -> str:
        version, _, rest = sealed.partition(".")
        key_id, _, body = rest.partition(".")
        if version != VERSION or not body:
            raise SecretBoxError("not a sealed webhook secret")
        if key_id != self.key_id:
            raise SecretBoxError(f"sealed under key {key_id}, this service holds {self.key_id}")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _bound_to(employer_id, url)
            )
        except InvalidTag as error:
            raise SecretBoxError("the sealed secret does not open for this endpoint") from error
        return plain.decode()


def _decoded_key(encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidSecretsKey(
            "WEBHOOK_SECRETS_KEY is not 32 bytes in base64: generate one with "
            "`openssl rand -base64 32` and give intake and the notifier the same"
        )
    return key


def is_sealed(value: str) -> bool:
    return value.startswith(VERSION + ".")


def mail_recipient_binding(mail_id: UUID) -> str:
    """What an account e-mail's sealed address is bound to (with the employer): intake seals,
    the notifier opens."""
    return f"mail:{mail_id}:to"


def mail_link_binding(mail_id: UUID) -> str:
    """What an account e-mail's sealed link is bound to (with the employer)."""
    return f"mail:{mail_id}:link"


def _bound_to(employer_id: UUID, url: str) -> bytes:
    return f"qualverify webhook secret\n{employer_id}\n{url}".encode()
