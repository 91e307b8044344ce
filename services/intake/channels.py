"""What intake needs of the channel book (services/reference): the fields each body's channel
requires and its configured turnaround (the fallback until enough answers were observed)."""

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from services.reference.channels import BodyChannel, ChannelBook, load_channel_book


class ChannelDirectory:
    def __init__(self, book: ChannelBook) -> None:
        self._book = book
        self._by_body: dict[str, BodyChannel] = {}

    @classmethod
    def load(cls, path: Path, required_bodies: Iterable[str] = ()) -> "ChannelDirectory":
        """At start-up pass the catalogue's body ids: a body without a channel is an error."""
        return cls(load_channel_book(path, required_bodies=required_bodies))

    def _channel(self, body_id: str) -> BodyChannel:
        # Only the body-independent settings are read, so no base URL is needed.
        channel = self._by_body.get(body_id)
        if channel is None:
            channel = self._by_body[body_id] = self._book.channel_of(body_id, "")
        return channel

    def required_fields(self, body_ids: Sequence[str]) -> Mapping[str, tuple[str, ...]]:
        return {body: self._channel(body).required_fields for body in body_ids}

    def configured_seconds(self, body_ids: Sequence[str]) -> Mapping[str, float]:
        return {body: self._channel(body).turnaround_seconds for body in body_ids}
