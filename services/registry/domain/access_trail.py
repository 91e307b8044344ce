"""The trail of access to one code's record, as the operators read it (pure)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.registry.domain.errors import InvalidField

TRAIL_PAGE_DEFAULT = 50
TRAIL_PAGE_MAX = 100
_CURSOR_PREFIX = "trail:"


class AccessScope(StrEnum):
    CODE = "code"  # the code itself was looked up, read or revoked
    HOLDER = "holder"  # every verification of the code's holder was listed


@dataclass(frozen=True, slots=True)
class AccessEntry:
    id: int  # order of recording; pages go from the newest down
    at: datetime
    actor: str  # mutual-TLS identity, or "public" for the HTTP check
    peer: str
    action: str  # the RPC or HTTP check that read the record
    outcome: str
    scope: AccessScope


@dataclass(frozen=True, slots=True)
class TrailCursor:
    """Where a page of the trail ended: the next page holds the entries recorded before it."""

    before_id: int

    def encode(self) -> str:
        text = f"{_CURSOR_PREFIX}{self.before_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> "TrailCursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            if not raw.startswith(_CURSOR_PREFIX):
                raise ValueError("not a trail cursor")
            before_id = int(raw.removeprefix(_CURSOR_PREFIX))
            if before_id < 1:
                raise ValueError("not an entry id")
            return cls(before_id)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidField(
                "cursor", "is not a next_cursor this registry issued", "不是本服务签发的游标"
            ) from None
