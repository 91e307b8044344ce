"""Which channel reaches each awarding body, and with what limits: operator configuration.

The file (JSON) names a default and per-body overrides; `{bodies_base_url}` and `{body_id}` in
strings are filled in, so the same file serves the simulator and real endpoints.
"""

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

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

    def bound_to(self, body_id: str, bodies_base_url: str) -> "BodyChannel":
        values = {"body_id": body_id, "bodies_base_url": bodies_base_url.rstrip("/")}
        return self.model_copy(
            update={
                "endpoint": self.endpoint.format(**values),
                "api_key": self.api_key.format(**values),
            }
        )


class ChannelBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    default: BodyChannel
    bodies: dict[str, BodyChannel] = Field(default_factory=dict)

    def channel_of(self, body_id: str, bodies_base_url: str) -> BodyChannel:
        return self.bodies.get(body_id, self.default).bound_to(body_id, bodies_base_url)


def load_channel_book(path: Path = DEFAULT_CHANNELS_FILE) -> ChannelBook:
    return ChannelBook.model_validate_json(path.read_text())
