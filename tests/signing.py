"""Events as their owning service signs them, for tests that put events on topics directly."""

from services.contracts.events import Event, encode
from services.contracts.topics import producer_of
from services.runtime.event_auth import EventKeys, EventSigner


def signer_of(service: str) -> EventSigner:
    """The session's key of `service` (see the `event_keys` fixture)."""
    return EventKeys.load(service).signer


def signed(
    event: Event, service: str | None = None, traceparent: str | None = None
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Value and headers as `service` (by default the topic's owner) would publish `event`."""
    value, headers = encode(event, traceparent)
    signer = signer_of(service or producer_of(event.topic.name) or "unowned")
    return value, signer.signed_headers(event.topic.name, event.key(), value, headers)
