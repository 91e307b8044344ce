"""Signing and verifying event records: what a signature binds, who may sign which topic, key
rotation, and keys that are missing."""

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.contracts.events import encode
from services.runtime.event_auth import (
    EventAuthSettings,
    EventKeys,
    EventKeysMissing,
    EventSigner,
    UnauthenticatedEvent,
    write_event_keys,
)
from tests.runtime.verdicts import verdict

Record = tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return write_event_keys(tmp_path / "keys")


def keys_of(service: str, keys_dir: Path) -> EventKeys:
    return EventKeys.load(service, EventAuthSettings(signing_key_dir=keys_dir, trust_dir=keys_dir))


def signed_verdict(signer: EventSigner) -> Record:
    event = verdict()
    value, headers = encode(event, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    topic, key = event.topic.name, event.key()
    return topic, key, value, signer.signed_headers(topic, key, value, headers)


def refusal(keys: EventKeys, record: Record) -> str:
    with pytest.raises(UnauthenticatedEvent) as refused:
        keys.trusted.authenticate(*record)
    return refused.value.kind


def test_the_owner_s_signature_is_accepted(keys_dir: Path) -> None:
    record = signed_verdict(keys_of("verifier", keys_dir).signer)
    keys_of("registry", keys_dir).trusted.authenticate(*record)


def test_the_signature_binds_topic_key_value_and_headers(keys_dir: Path) -> None:
    consumer = keys_of("registry", keys_dir)
    topic, key, value, headers = signed_verdict(keys_of("verifier", keys_dir).signer)
    assert value is not None
    retyped = [(n, b"VerificationProgressed" if n == "event-type" else v) for n, v in headers]
    for tampered in [
        (topic, key, value.replace(b"authentic", b"not_authentic"), headers),
        (topic, b"another-request", value, headers),
        (topic, key, value, retyped),
        (topic, key, value, [*headers, ("traceparent", b"00-forged")]),
    ]:
        assert refusal(consumer, tampered) == "bad-signature"
    assert refusal(consumer, ("verification.progress.v1", key, value, headers)) == "bad-signature"


def test_only_the_topic_owner_may_sign_it(keys_dir: Path) -> None:
    consumer = keys_of("registry", keys_dir)
    by_intake = signed_verdict(keys_of("intake", keys_dir).signer)
    assert refusal(consumer, by_intake) == "wrong-signer"
    _, key, value, headers = signed_verdict(keys_of("verifier", keys_dir).signer)
    assert refusal(consumer, ("unknown.topic.v1", key, value, headers)) == "wrong-signer"


def test_unsigned_or_doubly_signed_records_are_refused(keys_dir: Path) -> None:
    consumer = keys_of("registry", keys_dir)
    topic, key, value, headers = signed_verdict(keys_of("verifier", keys_dir).signer)
    unsigned = [(n, v) for n, v in headers if not n.startswith("qv-")]
    assert refusal(consumer, (topic, key, value, unsigned)) == "unsigned"
    doubled = [*headers, ("qv-signer", b"verifier")]
    assert refusal(consumer, (topic, key, value, doubled)) == "unsigned"
    garbled = [(n, b"%%%" if n == "qv-signature" else v) for n, v in headers]
    assert refusal(consumer, (topic, key, value, garbled)) == "bad-signature"


def test_a_stranger_s_key_in_the_owner_s_name_is_refused(keys_dir: Path) -> None:
    stranger = EventSigner("verifier", Ed25519PrivateKey.generate())
    assert refusal(keys_of("registry", keys_dir), signed_verdict(stranger)) == "bad-signature"


def test_a_rotated_key_is_trusted_next_to_the_old_one(keys_dir: Path, tmp_path: Path) -> None:
    new_dir = write_event_keys(tmp_path / "new", ["verifier"])
    (keys_dir / "verifier.next.pub.pem").write_bytes((new_dir / "verifier.pub.pem").read_bytes())
    consumer = keys_of("registry", keys_dir)
    consumer.trusted.authenticate(*signed_verdict(keys_of("verifier", keys_dir).signer))
    consumer.trusted.authenticate(*signed_verdict(keys_of("verifier", new_dir).signer))


def test_missing_keys_stop_the_service_with_a_clear_message(
    keys_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENT_SIGNING_KEY_DIR", raising=False)
    monkeypatch.delenv("EVENT_TRUST_DIR", raising=False)
    with pytest.raises(EventKeysMissing, match="EVENT_SIGNING_KEY_DIR and EVENT_TRUST_DIR"):
        EventKeys.load("intake")
    settings = EventAuthSettings(signing_key_dir=keys_dir, trust_dir=keys_dir)
    with pytest.raises(EventKeysMissing, match="no event signing key"):
        EventKeys.load("simulator", settings)


def test_written_private_keys_are_private_and_never_overwritten(keys_dir: Path) -> None:
    private = keys_dir / "intake.key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    before = private.read_bytes()
    write_event_keys(keys_dir)
    assert private.read_bytes() == before
