"""Which channel reaches each awarding body, and with what limits: operator configuration.

The file (JSON) names every awarding body's channel, directly or through a shared profile;
`{bodies_base_url}` and `{body_id}` in strings are filled in, so the same file serves the
simulator and real endpoints. A body without an entry is a configuration error found at
start-up (`required_bodies`), never a silent fallback; `default` exists only for test books.
"""

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_CHANNELS_FILE = Path(__file__).with_name("channels.json")


class ChannelType(StrEnum):
    CREDENTIAL_API = "credential_api"
    PUBLIC_REGISTER = "public_register"
    SIGNED_CREDENTIAL = "signed_credential"
    ASYNC_ENQUIRY = "async_enquiry"


class BodyChannel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ChannelType
    endpoint: str
    api_key: str = ""
    timeout_seconds: float = Field(5.0, gt=0)
    concurrency: int = Field(20, ge=1)
    max_attempts: int = Field(4, ge=1)
    deadline_seconds: float = Field(30.0, gt=0)
    turnaround_seconds: float = Field(5.0, ge=0, description="Expected time to an answer")
    required_fields: tuple[str, ...] = Field(
        (), description="certificate.channel_fields the employer must supply for this channel"
    )
    failure_threshold: int = Field(5, ge=1, description="Failures in a row that open the breaker")
    open_seconds: float = Field(10.0, gt=0, description="How long an open breaker waits")
    max_response_bytes: int = Field(1_000_000, ge=1024)
    fetch_by_number: bool = Field(
        False,
        description="signed_credential: when the employer supplies no credential, fetch it "
        "from the issuer by certificate number (public badges, e.g. Credly's Open Badges)",
    )

    def bound_to(self, body_id: str, bodies_base_url: str) -> "BodyChannel":
        values = {"body_id": body_id, "bodies_base_url": bodies_base_url.rstrip("/")}
        return self.model_copy(
            update={
                "endpoint": self.endpoint.format(**values),
                "api_key": self.api_key.format(**values),
            }
        )


class ChannelConfigError(ValueError):
    """The channel book does not reach every awarding body it must reach."""


class MissingChannelError(KeyError):
    """No channel is configured for this body."""


class ChannelBook(BaseModel):
    """`bodies` maps a body id to its own channel, or to the name of a shared profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    default: BodyChannel | None = None
    profiles: dict[str, BodyChannel] = Field(default_factory=dict)
    bodies: dict[str, BodyChannel | str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _profiles_exist(self) -> "ChannelBook":
        unknown = {v for v in self.bodies.values() if isinstance(v, str)} - set(self.profiles)
        if unknown:
            raise ValueError(f"unknown channel profiles: {sorted(unknown)}")
        return self

    def channel_of(self, body_id: str, bodies_base_url: str) -> BodyChannel:
        entry = self.bodies.get(body_id, self.default)
        if entry is None:
            raise MissingChannelError(f"no channel configured for awarding body {body_id!r}")
        channel = self.profiles[entry] if isinstance(entry, str) else entry
        return channel.bound_to(body_id, bodies_base_url)

    def missing(self, body_ids: Iterable[str]) -> list[str]:
        """Bodies without an entry of their own (a default does not count)."""
        return sorted(set(body_ids) - set(self.bodies))


def load_channel_book(
    path: Path = DEFAULT_CHANNELS_FILE, *, required_bodies: Iterable[str] = ()
) -> ChannelBook:
    """Reads the book; at start-up pass the catalogue's body ids as `required_bodies`."""
    book = ChannelBook.model_validate_json(path.read_text())
    missing = book.missing(required_bodies)
    if missing:
        raise ChannelConfigError(
            f"{path}: no channel for awarding bodies {', '.join(missing)}; "
            "add an entry for each to the channel book"
        )
    return book
