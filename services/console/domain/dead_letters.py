"""Parked records (pure): what the runtime wrote on a `<topic>.dlq` record, and the record to
send back to its source topic, signed as its producer signed it.

The runtime (`services.runtime.reliability.ReliableConsumption`) parks a record with its own
headers, its original signature renamed under `source-` names, and the dead-letter headers
below, then signs the whole as the parking service. Replaying restores the original signature
and drops everything the parking added, which gives back exactly what the producer signed.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.console.domain.masking import mask_error_detail, masked_preview
from services.runtime.event_auth import SIGNATURE_HEADERS

Headers = list[tuple[str, bytes]]

REASON = "dead-letter-reason"
GROUP = "dead-letter-group"
ERROR = "dead-letter-error"
SOURCE_TOPIC = "source-topic"
SOURCE_OFFSET = "source-offset"
_PARKING_HEADERS = frozenset({REASON, GROUP, ERROR, SOURCE_TOPIC, SOURCE_OFFSET})
_SOURCE_SIGNATURE = {f"source-{name}": name for name in SIGNATURE_HEADERS}


class ActionKind(StrEnum):
    REPLAYED = "replayed"
    DISCARDED = "discarded"


@dataclass(frozen=True)
class DeadLetterAction:
    kind: ActionKind
    actor: str
    reason: str | None
    acted_at: datetime


class NotReplayable(ValueError):
    """The parked record lacks what a replay needs (its source or its original signature)."""


@dataclass(frozen=True)
class ParkedRecord:
    """One record of a dead-letter topic, as the broker holds it."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return values[0].decode("utf-8", "replace") if len(values) == 1 else None

    @property
    def reason(self) -> str:
        return self.header(REASON) or ""

    @property
    def reason_kind(self) -> str:
        """The reason without its detail ("undecodable", "handler kept failing"...)."""
        return self.reason.split(":", 1)[0]

    @property
    def reason_detail(self) -> str:
        """The detail after the reason's kind, masked: an error's text may quote the record."""
        _, _, detail = self.reason.partition(":")
        return mask_error_detail(detail.strip())

    @property
    def parked_by(self) -> str | None:
        return self.header(GROUP)

    @property
    def error_class(self) -> str | None:
        return self.header(ERROR)

    @property
    def source_topic(self) -> str | None:
        return self.header(SOURCE_TOPIC)

    @property
    def source_position(self) -> tuple[int, int] | None:
        """(partition, offset) the record had on its source topic."""
        raw = self.header(SOURCE_OFFSET)
        if raw is None:
            return None
        partition, _, offset = raw.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            return None
        return int(partition), int(offset)

    def preview(self) -> str:
        return masked_preview(self.value)

    def shown_headers(self) -> list[tuple[str, str]]:
        """Every header for display; the reason's detail masked, signatures shortened."""
        shown: list[tuple[str, str]] = []
        for name, content in self.headers:
            text = content.decode("utf-8", "replace")
            if name == REASON:
                text = self.reason_kind + (f": {self.reason_detail}" if self.reason_detail else "")
            elif name.endswith("qv-signature"):
                text = text[:16] + "…"
            shown.append((name, text))
        return shown

    def replay(self) -> "Replay":
        """The record as its producer published it: key, value, and headers with the original
        signature restored and the parking headers and signature dropped."""
        topic = self.source_topic
        position = self.source_position
        if not topic or position is None:
            raise NotReplayable("the parked record does not name its source topic and offset")
        names = {name for name, _ in self.headers}
        if not set(_SOURCE_SIGNATURE) <= names:
            raise NotReplayable("the parked record does not carry its original signature")
        headers: Headers = []
        for name, content in self.headers:
            if name in _PARKING_HEADERS or name in SIGNATURE_HEADERS:
                continue
            headers.append((_SOURCE_SIGNATURE.get(name, name), content))
        return Replay(topic, position[0], self.key, self.value, headers)


@dataclass(frozen=True)
class Replay:
    topic: str
    partition: int
    key: bytes | None
    value: bytes | None
    headers: Headers
