"""Employers' users and their web sessions in PostgreSQL. A session is keyed by the SHA-256
of the token the cookie carries, so the table alone cannot be replayed as cookies."""

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from services.intake.domain.accounts import EmployerStatus, Role, SessionStage, WebUser

INSERT_USER = """
INSERT INTO employer_users (id, employer_id, email, name, phone, role, password_hash,
                            email_verified_at)
VALUES ($1, $2, lower($3), $4, $5, $6, $7, $8)
"""
OPEN_SESSION = """
INSERT INTO web_sessions (token_hash, user_id, stage, expires_at) VALUES ($1, $2, $3, $4)
"""
SESSION_USER = """
SELECT s.stage, u.id, u.employer_id, e.name AS employer_name, e.status AS employer_status,
       u.email, u.name, u.role, u.totp_secret IS NOT NULL AS totp_enrolled
FROM web_sessions s JOIN employer_users u ON u.id = s.user_id
JOIN employers e ON e.id = u.employer_id
WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL
"""
PROMOTE_SESSION = "UPDATE web_sessions SET stage = 'full' WHERE token_hash = $1"
CLOSE_SESSION = "DELETE FROM web_sessions WHERE token_hash = $1"
END_SESSIONS_OF = "DELETE FROM web_sessions WHERE user_id = $1"
RECORD_AUDIT = """
INSERT INTO account_audit (employer_id, user_id, action, target, outcome)
VALUES ($1, $2, $3, $4, $5)
"""


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class AccountStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_user(
        self,
        employer_id: UUID,
        email: str,
        name: str,
        role: Role,
        *,
        phone: str | None = None,
        password_hash: str | None = None,
        email_verified_at: datetime | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> UUID:
        user_id = uuid4()
        values = (user_id, employer_id, email, name, phone, role.value, password_hash)
        await (conn or self._pool).execute(INSERT_USER, *values, email_verified_at)
        return user_id

    async def open_session(self, user_id: UUID, stage: SessionStage, lifetime: timedelta) -> str:
        """A new session; the token goes into the signed cookie and is never stored."""
        token = secrets.token_urlsafe(32)
        expires_at = datetime.now().astimezone() + lifetime
        await self._pool.execute(OPEN_SESSION, token_hash(token), user_id, stage.value, expires_at)
        return token

    async def session_user(self, token: str) -> tuple[WebUser, SessionStage] | None:
        row = await self._pool.fetchrow(SESSION_USER, token_hash(token))
        if row is None:
            return None
        user = WebUser(
            user_id=row["id"],
            employer_id=row["employer_id"],
            employer_name=row["employer_name"],
            employer_status=EmployerStatus(row["employer_status"]),
            email=row["email"],
            name=row["name"],
            role=Role(row["role"]),
            totp_enrolled=row["totp_enrolled"],
        )
        return user, SessionStage(row["stage"])

    async def promote_session(self, token: str) -> None:
        await self._pool.execute(PROMOTE_SESSION, token_hash(token))

    async def close_session(self, token: str) -> None:
        await self._pool.execute(CLOSE_SESSION, token_hash(token))

    async def end_sessions_of(self, user_id: UUID) -> None:
        await self._pool.execute(END_SESSIONS_OF, user_id)

    async def audit(
        self,
        action: str,
        outcome: str,
        *,
        employer_id: UUID | None = None,
        user_id: UUID | None = None,
        target: str | None = None,
    ) -> None:
        """Who did what; never a password, token or personal number."""
        await self._pool.execute(RECORD_AUDIT, employer_id, user_id, action, target, outcome)
