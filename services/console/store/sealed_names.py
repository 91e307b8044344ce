"""Holder names sealed with AES-256-GCM under the console's data key (`CONSOLE_DATA_KEY`), so
the console's store alone never yields a name: only an operator opening one request (an
audited action) sees it unsealed.

The associated data binds a sealed name to its request, so a sealed value copied onto another
request does not open. A sealed value reads `v1.<key id>.<base64url(nonce || ciphertext)>`.
"""

import base64
import binascii
import hashlib
import os
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

VERSION = "v1"
_NONCE_BYTES = 12


class SealedNameError(ValueError):
    """A sealed name that does not open (another key, another request, or tampered)."""


class NameBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("CONSOLE_DATA_KEY must be 32 bytes (AES-256) in base64")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"key id:" + key).hexdigest()[:8]

    @classmethod
    def from_setting(cls, key: SecretStr) -> "NameBox":
        """The box of the configured key (`ConsoleSettings.data_key`, base64 of 32 bytes)."""
        try:
            raw = base64.b64decode(key.get_secret_value().strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(
                "CONSOLE_DATA_KEY is not 32 bytes in base64: generate one with "
                "`openssl rand -base64 32`"
            )
        return cls(raw)

    @classmethod
    def at_start(cls, key: SecretStr, service: str = "console") -> "NameBox":
        """The box of the configured key, or exit with one line saying what is wrong."""
        try:
            return cls.from_setting(key)
        except ValueError as error:
            raise SystemExit(f"{service} cannot start: {error}") from None

    def seal(self, name: str, request_id: UUID) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, name.encode(), _bound_to(request_id))
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.key_id}.{body}"

    def unseal(self, sealed: str, request_id: UUID) -> str:
        version, _, rest = sealed.partition(".")
        key_id, _, body = rest.partition(".")
        if version != VERSION or not body:
            raise SealedNameError("not a sealed name")
        if key_id != self.key_id:
            raise SealedNameError(f"sealed under key {key_id}, the console holds {self.key_id}")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _bound_to(request_id)
            )
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise SealedNameError("the sealed name does not open for this request") from error
        return plain.decode()


def _bound_to(request_id: UUID) -> bytes:
    return f"qualverify console holder name\n{request_id}".encode()
