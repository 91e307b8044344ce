"""Authentic events: every record is signed by the service that owns its topic.

A producer signs topic, key, value and headers (so also the event id and type) with its
Ed25519 key and names itself in `qv-signer`; a consumer accepts a record only if that signer
owns the topic (`services.contracts.topics.PRODUCER_OF`) and the signature verifies with one of
the signer's trusted public keys. See docs/event-authenticity.md.

Keys: `EVENT_SIGNING_KEY_DIR` holds this service's private key `<service>.key.pem`;
`EVENT_TRUST_DIR` holds the public keys `<service>.pub.pem` (and `<service>.<label>.pub.pem`
while a key is being rotated).
"""

import base64
import binascii
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from prometheus_client import Counter
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.contracts.topics import SERVICES, producer_of

SIGNER_HEADER = "qv-signer"
SIGNATURE_HEADER = "qv-signature"
SIGNATURE_HEADERS = (SIGNER_HEADER, SIGNATURE_HEADER)
# Set by FastStream on every record it publishes, after the signature is made; they carry
# nothing the platform reads, so the signature leaves them out.
TRANSPORT_HEADERS = frozenset({"content-type", "correlation_id", "reply_to"})
UNSIGNED_HEADERS = TRANSPORT_HEADERS | {SIGNATURE_HEADER}
# Separates these signatures from any other use of the same keys.
_DOMAIN = b"qualverify-event-v1"
_ABSENT = 0xFFFFFFFF  # length marker of a missing key, distinct from an empty one

Headers = Sequence[tuple[str, bytes]]

EVENTS_UNAUTHENTICATED = Counter(
    "events_unauthenticated_total",
    "Records refused because their producer could not be authenticated",
    ["topic", "kind"],
)


class EventAuthSettings(BaseSettings):
    """Shared by every service; required, like the other secrets (no built-in default key)."""

    model_config = SettingsConfigDict(env_prefix="EVENT_")

    signing_key_dir: Path | None = None
    trust_dir: Path | None = None


class EventKeysMissing(RuntimeError):
    """The service was started without its signing key or the trusted public keys."""


class UnauthenticatedEvent(ValueError):
    """A record not signed by the service that owns its topic; `kind` names why, for metrics."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def canonical_bytes(topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> bytes:
    """Length-prefixed topic, key, value and every header except the signature and the
    transport's own, sorted."""
    fields: list[bytes | None] = [_DOMAIN, topic.encode(), key, value]
    for name, content in sorted(h for h in headers if h[0] not in UNSIGNED_HEADERS):
        fields += [name.encode(), content]
    return b"".join(
        _ABSENT.to_bytes(4, "big") if part is None else len(part).to_bytes(4, "big") + part
        for part in fields
    )


@dataclass(frozen=True)
class EventSigner:
    service: str
    private_key: Ed25519PrivateKey

    def signed_headers(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> list[tuple[str, bytes]]:
        """`headers` without any earlier signature, plus this service's signature."""
        kept = [
            h for h in headers if h[0] not in SIGNATURE_HEADERS and h[0] not in TRANSPORT_HEADERS
        ]
        kept.append((SIGNER_HEADER, self.service.encode()))
        signature = self._sodium.sign(canonical_bytes(topic, key, value, kept)).signature
        return [*kept, (SIGNATURE_HEADER, base64.b64encode(signature))]

    @cached_property
    def _sodium(self) -> SigningKey:
        # The same Ed25519 key in libsodium, which signs in about half the CPU time.
        return SigningKey(self.private_key.private_bytes_raw())


@dataclass(frozen=True)
class TrustedProducers:
    public_keys: dict[str, tuple[Ed25519PublicKey, ...]]

    @cached_property
    def _sodium(self) -> dict[str, tuple[VerifyKey, ...]]:
        # The same keys in libsodium, which verifies in about half OpenSSL's CPU time: every
        # consumed record is verified, so this is on every consumer's hot path.
        return {
            service: tuple(VerifyKey(key.public_bytes_raw()) for key in keys)
            for service, keys in self.public_keys.items()
        }

    def authenticate(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> None:
        """Raises UnauthenticatedEvent unless the topic's owner signed exactly this record."""
        signer = _single(headers, SIGNER_HEADER)
        signature = _single(headers, SIGNATURE_HEADER)
        if signer is None or signature is None:
            raise UnauthenticatedEvent("unsigned", "record carries no single signer and signature")
        owner = producer_of(topic)
        if owner is None or signer != owner.encode():
            raise UnauthenticatedEvent("wrong-signer", f"topic {topic} is not produced by signer")
        message = canonical_bytes(topic, key, value, headers)
        if not any(_verifies(k, signature, message) for k in self._sodium.get(owner, ())):
            raise UnauthenticatedEvent("bad-signature", f"signature of {owner} does not verify")


@dataclass(frozen=True)
class EventKeys:
    """What one service needs: its own signer and the public keys of every producer."""

    signer: EventSigner
    trusted: TrustedProducers

    @classmethod
    def load(cls, service: str, settings: EventAuthSettings | None = None) -> "EventKeys":
        settings = settings or EventAuthSettings()
        if settings.signing_key_dir is None or settings.trust_dir is None:
            raise EventKeysMissing(
                "EVENT_SIGNING_KEY_DIR and EVENT_TRUST_DIR are required; for development "
                "`uv run python -m deploy.pki.make_dev_pki` writes them to .local/pki/events"
            )
        private_file = settings.signing_key_dir / f"{service}.key.pem"
        if not private_file.is_file():
            raise EventKeysMissing(f"no event signing key {private_file}")
        return cls(
            EventSigner(service, _read_private(private_file)), read_trust(settings.trust_dir)
        )


def read_trust(trust_dir: Path) -> TrustedProducers:
    keys: dict[str, list[Ed25519PublicKey]] = {}
    for path in sorted(trust_dir.glob("*.pub.pem")):
        service = path.name.split(".", 1)[0]
        public = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(public, Ed25519PublicKey):
            raise EventKeysMissing(f"{path} is not an Ed25519 public key")
        keys.setdefault(service, []).append(public)
    return TrustedProducers({service: tuple(found) for service, found in keys.items()})


def write_event_keys(out_dir: Path, services: Iterable[str] = SERVICES) -> Path:
    """Creates `<service>.key.pem` (mode 0600) and `<service>.pub.pem` where missing."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for service in services:
        private_file = out_dir / f"{service}.key.pem"
        if private_file.exists():
            continue
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(private_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        (out_dir / f"{service}.pub.pem").write_bytes(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return out_dir


def _read_private(path: Path) -> Ed25519PrivateKey:
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise EventKeysMissing(f"{path} is not an Ed25519 private key")
    return private


def _single(headers: Headers, name: str) -> bytes | None:
    values = [content for header, content in headers if header == name]
    return values[0] if len(values) == 1 else None


def _verifies(public: VerifyKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(message, base64.b64decode(signature, validate=True))
    except (BadSignatureError, binascii.Error, ValueError):  # ValueError: not 64 bytes
        return False
    return True
