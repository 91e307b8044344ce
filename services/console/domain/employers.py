"""Employers waiting for an operator's approval, as the console shows them (pure): the contact
masked in lists and shown whole only when an operator opens one; and what can go wrong."""

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from services.console.domain.bodies import Bilingual
from services.console.domain.masking import mask_email, mask_name, mask_phone


class EmployerStatus(StrEnum):
    UNVERIFIED = "unverified"
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Contact:
    name: str | None
    email: str | None
    phone: str | None

    def masked(self) -> "Contact":
        return Contact(
            None if self.name is None else mask_name(self.name),
            None if self.email is None else mask_email(self.email),
            None if self.phone is None else mask_phone(self.phone),
        )


@dataclass(frozen=True)
class ReviewedEmployer:
    id: UUID
    name: str
    credit_code: str
    status: EmployerStatus
    created_at: datetime
    email_verified_at: datetime | None
    contact: Contact
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None

    @property
    def pending(self) -> bool:
        return self.status is EmployerStatus.PENDING

    def with_contact_masked(self) -> "ReviewedEmployer":
        return replace(self, contact=self.contact.masked())


class EmployersError(Exception):
    """A failure of the employers section, with what to tell the operator."""

    def __init__(self, message: Bilingual) -> None:
        super().__init__(message.en)
        self.message = message


class IntakeUnavailable(EmployersError):
    """Intake did not answer, or answered something unexpected; try again later."""


class IntakeRefused(EmployersError):
    """Intake refused the console's operator token: a configuration fault."""


class EmployerNotFound(EmployersError):
    pass


class AlreadyDecided(EmployersError):
    """The employer is not (or no longer) waiting for a decision."""


class InvalidDecision(EmployersError):
    """E.g. a rejection without a reason."""
