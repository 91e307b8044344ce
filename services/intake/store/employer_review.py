"""Employers as an operator reviews them: each with its contact (its first admin), and the
operator's decision. The use case (services/intake/usecases/approving.py) decides; this only
reads and stores."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from services.intake.domain.accounts import EmployerStatus
from services.runtime.db import Connection

_REVIEW_COLUMNS = """
SELECT e.id, e.name, e.credit_code, e.status, e.created_at, e.decided_at, e.decided_by,
       e.decision_reason, c.name AS contact_name, c.email AS contact_email,
       c.phone AS contact_phone, c.email_verified_at
FROM employers e
LEFT JOIN LATERAL (
    SELECT u.name, u.email, u.phone, u.email_verified_at FROM employer_users u
    WHERE u.employer_id = e.id AND u.role = 'admin'
    ORDER BY u.created_at, u.id LIMIT 1
) c ON true
"""
# Pending ones oldest first (the queue); decided ones newest decision first.
LIST_BY_STATUS = (
    _REVIEW_COLUMNS
    + """WHERE e.status = $1
ORDER BY CASE WHEN $1 IN ('pending', 'unverified') THEN e.created_at END,
         coalesce(e.decided_at, e.created_at) DESC, e.id
LIMIT $2"""
)
ONE = _REVIEW_COLUMNS + "WHERE e.id = $1"
BY_CREDIT_CODE = "SELECT id FROM employers WHERE credit_code = $1"
LOCK_STATUS = "SELECT name, status FROM employers WHERE id = $1 FOR UPDATE"
DECIDE = """
UPDATE employers SET status = $2, decided_at = now(), decided_by = $3, decision_reason = $4
WHERE id = $1
"""
ADMINS = """
SELECT email FROM employer_users
WHERE employer_id = $1 AND role = 'admin' AND disabled_at IS NULL
ORDER BY created_at, id
"""


@dataclass(frozen=True)
class EmployerUnderReview:
    id: UUID
    name: str
    credit_code: str
    status: EmployerStatus
    created_at: datetime
    email_verified_at: datetime | None
    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


@dataclass(frozen=True)
class Locked:
    name: str
    status: EmployerStatus


class EmployerReviewStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def by_status(self, status: EmployerStatus, limit: int) -> list[EmployerUnderReview]:
        return [_review(row) for row in await self.pool.fetch(LIST_BY_STATUS, status.value, limit)]

    async def one(self, employer_id: UUID) -> EmployerUnderReview | None:
        row = await self.pool.fetchrow(ONE, employer_id)
        return None if row is None else _review(row)

    async def id_of(self, credit_code: str) -> UUID | None:
        found: UUID | None = await self.pool.fetchval(BY_CREDIT_CODE, credit_code)
        return found

    async def lock(self, conn: Connection, employer_id: UUID) -> Locked | None:
        row = await conn.fetchrow(LOCK_STATUS, employer_id)
        return None if row is None else Locked(row["name"], EmployerStatus(row["status"]))

    async def decide(
        self,
        conn: Connection,
        employer_id: UUID,
        status: EmployerStatus,
        operator: str,
        reason: str | None,
    ) -> None:
        await conn.execute(DECIDE, employer_id, status.value, operator, reason)

    async def admin_addresses(self, conn: Connection, employer_id: UUID) -> list[str]:
        return [row["email"] for row in await conn.fetch(ADMINS, employer_id)]


def _review(row: asyncpg.Record) -> EmployerUnderReview:
    values = dict(row)
    values["status"] = EmployerStatus(values["status"])
    return EmployerUnderReview(**values)
