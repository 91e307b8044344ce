"""Employers' web accounts: who a signed-in user is and what their role lets them do."""

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    ADMIN = "admin"  # manages users, API keys and webhooks; applies and reads too
    APPLICANT = "applicant"  # applies and reads
    VIEWER = "viewer"  # reads


class EmployerStatus(StrEnum):
    UNVERIFIED = "unverified"  # signed up; the contact's e-mail is not confirmed yet
    PENDING = "pending"  # e-mail confirmed; waiting for an operator's approval
    ACTIVE = "active"
    REJECTED = "rejected"


class SessionStage(StrEnum):
    PASSWORD = "password"  # the password was right; the second factor is still due
    FULL = "full"


@dataclass(frozen=True, slots=True)
class WebUser:
    user_id: UUID
    employer_id: UUID
    employer_name: str
    employer_status: EmployerStatus
    email: str
    name: str
    role: Role
    totp_enrolled: bool

    @property
    def may_apply(self) -> bool:
        return self.role in (Role.ADMIN, Role.APPLICANT)

    @property
    def may_administer(self) -> bool:
        return self.role is Role.ADMIN
