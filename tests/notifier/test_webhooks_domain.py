"""Standard Webhooks signatures and the delivery retry schedule."""

import base64
import hashlib
import hmac
from datetime import timedelta

from services.notifier.domain.webhooks import RETRY_SCHEDULE, next_attempt_delay, sign

SECRET_KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(SECRET_KEY).decode()


def expected_signature(key: bytes, webhook_id: str, timestamp: int, payload: bytes) -> str:
    message = webhook_id.encode() + b"." + str(timestamp).encode() + b"." + payload
    mac = hmac.HMAC(key, message, "sha256").digest()
    return "v1," + base64.standard_b64encode(mac).decode("ascii")


def test_signature_matches_an_independent_computation() -> None:
    payload = b'{"type":"verification.completed","data":{"verdict":"authentic"}}'
    signature = sign(SECRET, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, payload)
    assert signature == expected_signature(
        SECRET_KEY, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1674087231, payload
    )


def test_signature_is_v1_base64_of_a_sha256_digest() -> None:
    signature = sign(SECRET, "id", 1, b"{}")
    scheme, encoded = signature.split(",", 1)
    assert scheme == "v1"
    assert len(base64.b64decode(encoded, validate=True)) == hashlib.sha256().digest_size


def test_secret_without_the_prefix_is_the_same_key() -> None:
    unprefixed = SECRET.removeprefix("whsec_")
    assert sign(unprefixed, "id", 1, b"x") == sign(SECRET, "id", 1, b"x")


def test_payload_bytes_that_are_not_utf8_are_signed_as_is() -> None:
    payload = b"\xff\xfe\x00"
    assert sign(SECRET, "id", 7, payload) == expected_signature(SECRET_KEY, "id", 7, payload)


def test_any_change_changes_the_signature() -> None:
    reference = sign(SECRET, "msg_1", 1700000000, b'{"a":1}')
    other_secret = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
    variants = [
        sign(other_secret, "msg_1", 1700000000, b'{"a":1}'),
        sign(SECRET, "msg_2", 1700000000, b'{"a":1}'),
        sign(SECRET, "msg_1", 1700000001, b'{"a":1}'),
        sign(SECRET, "msg_1", 1700000000, b'{"a":2}'),
    ]
    assert reference not in variants
    assert len(set(variants)) == len(variants)


def schedule(time_scale: float = 1.0) -> list[timedelta]:
    delays: list[timedelta] = []
    while (delay := next_attempt_delay(len(delays), time_scale)) is not None:
        delays.append(delay)
        assert len(delays) < 100, "the schedule must end"
    return delays


def test_the_first_attempt_is_immediate_and_later_ones_back_off() -> None:
    delays = schedule()
    assert delays[0] == timedelta(0)
    assert delays[1:] == sorted(delays[1:])
    assert all(d > timedelta(0) for d in delays[1:])


def test_the_schedule_covers_at_least_a_day_and_then_ends() -> None:
    delays = schedule()
    assert sum(delays, timedelta(0)) >= timedelta(hours=24)
    assert len(delays) == len(RETRY_SCHEDULE)
    assert next_attempt_delay(len(RETRY_SCHEDULE)) is None
    assert next_attempt_delay(len(RETRY_SCHEDULE) + 5) is None


def test_time_scale_compresses_the_schedule() -> None:
    compressed = schedule(time_scale=1 / 3600)
    assert len(compressed) == len(schedule())
    assert sum(compressed, timedelta(0)) < timedelta(seconds=30)
    for full, short in zip(schedule(), compressed, strict=True):
        assert abs(full / 3600 - short) < timedelta(milliseconds=1)
    assert next_attempt_delay(len(RETRY_SCHEDULE), time_scale=1 / 3600) is None
