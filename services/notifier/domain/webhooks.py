"""Standard Webhooks: signatures and the retry schedule. Pure."""

import base64
import hashlib
import hmac
from datetime import timedelta

# Standard Webhooks' suggested schedule: about 27 hours from first to last attempt.
RETRY_SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)


def sign(secret: str, webhook_id: str, timestamp: int, payload: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + payload
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def next_attempt_delay(attempts_made: int, time_scale: float = 1.0) -> timedelta | None:
    """Delay before the next attempt, or None once the schedule is exhausted."""
    if attempts_made >= len(RETRY_SCHEDULE):
        return None
    return RETRY_SCHEDULE[attempts_made] * time_scale


def signature_header(secrets: list[str], webhook_id: str, timestamp: int, payload: bytes) -> str:
    """One signature per valid secret, space-separated, so a receiver that still holds the
    previous secret during a rotation can verify as well as one that already has the new."""
    return " ".join(sign(secret, webhook_id, timestamp, payload) for secret in secrets)
