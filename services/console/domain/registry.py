"""What the registry tells the console about codes, who accessed them, who streams outcomes,
and the catalogue; and why it may refuse. Pure: no I/O.

The registry answers the `operator` identity without personal data: holder names come masked
and no holder reference or document number ever reaches the console.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

REGIONS = ("beijing", "tianjin", "hebei")
MAX_REASON = 200  # the registry's longest text field


class RegistryProblem(Exception):
    """A refusal or failure of the registry, with what to tell the operator in both languages."""

    def __init__(self, message_en: str, message_zh: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_zh = message_zh


class RegistryNotFound(RegistryProblem):
    """No such code or qualification."""


class RegistryInvalid(RegistryProblem):
    """The input is malformed, or the change is not possible (e.g. withdrawn before)."""


class RegistryForbidden(RegistryProblem):
    """The registry refused the console's identity: a configuration fault."""


class RegistryUnavailable(RegistryProblem):
    """The registry did not answer (or not in time); try again shortly."""


class CodeStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class CodeRecord:
    """A verification code as an operator sees it: the name masked, no holder reference."""

    code: str
    status: CodeStatus
    qualification_id: str
    body_ids: tuple[str, ...]
    region: str | None  # unknown in a public lookup
    verified_at: datetime | None
    holder_name_masked: str
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    request_id: str | None = None


class AccessScope(StrEnum):
    CODE = "code"  # the code itself was looked up, read or revoked
    HOLDER = "holder"  # every verification of its holder was listed


@dataclass(frozen=True, slots=True)
class CodeAccess:
    at: datetime | None
    identity: str  # the caller's mutual-TLS identity, or "public"
    peer: str
    method: str
    outcome: str
    scope: AccessScope


@dataclass(frozen=True, slots=True)
class AccessTrail:
    accesses: tuple[CodeAccess, ...]
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, slots=True)
class OutcomeSubscriber:
    id: int
    region: str
    identity: str
    peer: str
    after_cursor: int
    last_cursor: int
    delivered: int
    connected_at: datetime | None
    last_seen_at: datetime | None
    disconnected_at: datetime | None
    connected: bool
    backlog: int  # outcomes of its region it has not received, counted up to 10,000


@dataclass(frozen=True, slots=True)
class CatalogueQualification:
    id: str
    name: str
    body_ids: tuple[str, ...]
    body_names: tuple[str, ...]
    fields: tuple[str, ...]
    withdrawn: bool  # in effect today
    withdrawn_on: date | None  # set also when only scheduled
    withdrawal_reason: str | None


def revocation_reason(text: str) -> str:
    """An operator's reason for revoking or withdrawing, as the registry will accept it."""
    reason = " ".join(text.split())
    if not reason:
        raise RegistryInvalid("A reason is required", "必须填写原因")
    if len(reason) > MAX_REASON:
        raise RegistryInvalid(
            f"The reason is longer than {MAX_REASON} characters",
            f"原因超过 {MAX_REASON} 个字符",
        )
    return reason
