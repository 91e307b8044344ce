"""Employers' users and their web sessions in PostgreSQL. A session is keyed by the SHA-256
of the token the cookie carries, so the table alone cannot be replayed as cookies."""

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypedDict
from uuid import UUID, uuid4

import asyncpg

from services.intake.domain.accounts import EmployerStatus, Role, SessionStage, WebUser
from services.runtime.db import Connection

Executor = asyncpg.Pool | Connection


class Actor(TypedDict):
    """Whose action an audit record is: `audit(..., **actor)`."""

    employer_id: UUID
    user_id: UUID


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"
    INVITATION = "invitation"


class TokenProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What signing in needs to know about the user an e-mail address names."""

    user_id: UUID
    employer_id: UUID
    employer_name: str
    email: str
    password_hash: str | None
    email_verified: bool
    failed_sign_ins: int
    locked_until: datetime | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class SecondFactor:
    sealed_secret: str | None
    sealed_pending: str | None
    last_step: int | None
    failed_sign_ins: int
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class UserListing:
    user_id: UUID
    email: str
    name: str
    role: Role
    totp_enrolled: bool
    has_password: bool
    locked_until: datetime | None
    disabled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyListing:
    key_id: str
    name: str
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class EmployerStanding:
    employer_id: UUID
    name: str
    status: EmployerStatus
    decision_reason: str | None


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


CREDENTIALS = """
SELECT u.id, u.employer_id, e.name AS employer_name, u.email, u.password_hash,
       u.email_verified_at IS NOT NULL AS email_verified, u.failed_sign_ins, u.locked_until,
       u.disabled_at IS NOT NULL AS disabled
FROM employer_users u JOIN employers e ON e.id = u.employer_id
WHERE u.email = lower($1)
"""
RECORD_FAILURE = """
UPDATE employer_users SET failed_sign_ins = failed_sign_ins + 1,
       locked_until = coalesce($2, locked_until)
WHERE id = $1
"""
RECORD_SUCCESS = """
UPDATE employer_users SET failed_sign_ins = 0, locked_until = NULL,
       password_hash = coalesce($2, password_hash)
WHERE id = $1
"""
SECOND_FACTOR = """
SELECT totp_secret, totp_pending_secret, totp_last_step, failed_sign_ins, locked_until
FROM employer_users WHERE id = $1
"""
SET_PENDING_TOTP = "UPDATE employer_users SET totp_pending_secret = $2 WHERE id = $1"
# Only a later time step than the last accepted: a code is never accepted twice, even by two
# requests at once.
ACCEPT_TOTP_STEP = """
UPDATE employer_users SET totp_last_step = $2
WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)
RETURNING id
"""
ENROL_TOTP = """
UPDATE employer_users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,
       totp_last_step = $2
WHERE id = $1 AND totp_pending_secret = $3 AND totp_secret IS NULL
RETURNING id
"""
ISSUE_TOKEN = """
INSERT INTO account_tokens (token_hash, user_id, purpose, expires_at) VALUES ($1, $2, $3, $4)
"""
# A disabled user's links are as good as unknown.
TOKEN_STATE = """
SELECT t.user_id, t.used_at IS NOT NULL AS used, t.expires_at <= now() AS expired
FROM account_tokens t JOIN employer_users u ON u.id = t.user_id
WHERE t.token_hash = $1 AND t.purpose = $2 AND u.disabled_at IS NULL
"""
EMAIL_OF_TOKEN = """
SELECT u.email FROM account_tokens t JOIN employer_users u ON u.id = t.user_id
WHERE t.token_hash = $1
"""
CONSUME_TOKEN = """
UPDATE account_tokens SET used_at = now()
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
  AND user_id IN (SELECT id FROM employer_users WHERE disabled_at IS NULL)
RETURNING user_id
"""
SET_PASSWORD = """
UPDATE employer_users SET password_hash = $2, failed_sign_ins = 0, locked_until = NULL,
       email_verified_at = coalesce(email_verified_at, now())
WHERE id = $1
"""
VERIFY_EMAIL = """
UPDATE employer_users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1
RETURNING employer_id
"""
EMPLOYER_OF_USER = """
SELECT e.id, e.name, e.status, e.decision_reason
FROM employer_users u JOIN employers e ON e.id = u.employer_id WHERE u.id = $1
"""
LIST_USERS = """
SELECT id, email, name, role, totp_secret IS NOT NULL AS totp_enrolled,
       password_hash IS NOT NULL AS has_password, locked_until, disabled_at, created_at
FROM employer_users WHERE employer_id = $1 ORDER BY created_at, email
"""
LOCK_USERS_OF = """
SELECT id, role, disabled_at IS NOT NULL AS disabled
FROM employer_users WHERE employer_id = $1 ORDER BY id FOR UPDATE
"""
SET_ROLE = "UPDATE employer_users SET role = $3 WHERE id = $2 AND employer_id = $1"
DISABLE_USER = """
UPDATE employer_users SET disabled_at = coalesce(disabled_at, now())
WHERE id = $2 AND employer_id = $1
"""
REGISTER_EMPLOYER = """
INSERT INTO employers (id, credit_code, name, status) VALUES ($1, $2, $3, 'unverified')
ON CONFLICT (credit_code) DO NOTHING RETURNING id
"""
EMAIL_IN_USE = "SELECT EXISTS (SELECT 1 FROM employer_users WHERE email = lower($1))"
PENDING_AFTER_VERIFICATION = """
UPDATE employers SET status = 'pending' WHERE id = $1 AND status = 'unverified'
"""
LIST_API_KEYS = """
SELECT k.key_id, k.name, u.name AS created_by, k.created_at, k.revoked_at
FROM api_keys k LEFT JOIN employer_users u ON u.id = k.created_by
WHERE k.employer_id = $1 ORDER BY k.created_at DESC, k.key_id
"""
# Revoking a key notifies this channel with "<schema>:<key id>": every intake process forgets
# the key when told (services/intake/api/auth.py).
REVOCATIONS_CHANNEL = "api_key_revoked"
REVOKE_API_KEY = """
WITH revoked AS (
    UPDATE api_keys SET revoked_at = now()
    WHERE employer_id = $1 AND key_id = $2 AND revoked_at IS NULL
    RETURNING key_id
)
SELECT key_id, pg_notify($3, current_schema() || ':' || key_id) FROM revoked
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
        conn: Connection | None = None,
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

    async def end_sessions_of(self, user_id: UUID, conn: Executor | None = None) -> None:
        await (conn or self._pool).execute(END_SESSIONS_OF, user_id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def credentials(self, email: str) -> Credentials | None:
        row = await self._pool.fetchrow(CREDENTIALS, email)
        if row is None:
            return None
        return Credentials(
            user_id=row["id"],
            employer_id=row["employer_id"],
            employer_name=row["employer_name"],
            email=row["email"],
            password_hash=row["password_hash"],
            email_verified=row["email_verified"],
            failed_sign_ins=row["failed_sign_ins"],
            locked_until=row["locked_until"],
            disabled=row["disabled"],
        )

    async def record_failure(self, user_id: UUID, locked_until: datetime | None) -> None:
        await self._pool.execute(RECORD_FAILURE, user_id, locked_until)

    async def record_success(self, user_id: UUID, rehashed: str | None = None) -> None:
        await self._pool.execute(RECORD_SUCCESS, user_id, rehashed)

    async def second_factor(self, user_id: UUID) -> SecondFactor:
        row = await self._pool.fetchrow(SECOND_FACTOR, user_id)
        if row is None:
            raise LookupError(f"no user {user_id}")
        return SecondFactor(
            sealed_secret=row["totp_secret"],
            sealed_pending=row["totp_pending_secret"],
            last_step=row["totp_last_step"],
            failed_sign_ins=row["failed_sign_ins"],
            locked_until=row["locked_until"],
        )

    async def offer_totp(self, user_id: UUID, sealed_secret: str) -> None:
        await self._pool.execute(SET_PENDING_TOTP, user_id, sealed_secret)

    async def enrol_totp(self, user_id: UUID, sealed_pending: str, step: int) -> bool:
        """Makes the offered secret the user's, if it is still the one offered."""
        return await self._pool.fetchval(ENROL_TOTP, user_id, step, sealed_pending) is not None

    async def accept_totp_step(self, user_id: UUID, step: int) -> bool:
        return await self._pool.fetchval(ACCEPT_TOTP_STEP, user_id, step) is not None

    async def issue_token(
        self, conn: Executor, user_id: UUID, purpose: TokenPurpose, lifetime: timedelta
    ) -> str:
        """A one-time link's secret; only its hash is stored."""
        token = secrets.token_urlsafe(32)
        expires_at = datetime.now().astimezone() + lifetime
        await conn.execute(ISSUE_TOKEN, token_hash(token), user_id, purpose.value, expires_at)
        return token

    async def token_problem(self, token: str, purpose: TokenPurpose) -> TokenProblem | None:
        """Why a link can no longer be used, or None while it can."""
        row = await self._pool.fetchrow(TOKEN_STATE, token_hash(token), purpose.value)
        if row is None:
            return TokenProblem.UNKNOWN
        if row["used"]:
            return TokenProblem.USED
        return TokenProblem.EXPIRED if row["expired"] else None

    async def email_of_token(self, token: str) -> str | None:
        email: str | None = await self._pool.fetchval(EMAIL_OF_TOKEN, token_hash(token))
        return email

    async def consume_token(
        self, conn: Connection, token: str, purpose: TokenPurpose
    ) -> UUID | TokenProblem:
        """Uses the link once (in the caller's transaction): its user, or why it cannot."""
        user_id: UUID | None = await conn.fetchval(CONSUME_TOKEN, token_hash(token), purpose.value)
        if user_id is not None:
            return user_id
        return await self.token_problem(token, purpose) or TokenProblem.USED

    async def set_password(self, conn: Executor, user_id: UUID, password_hash: str) -> None:
        """A new password, which also clears the lockout and confirms the address (the link
        that allowed it came by e-mail)."""
        await conn.execute(SET_PASSWORD, user_id, password_hash)

    async def verify_email(self, conn: Executor, user_id: UUID) -> UUID:
        employer_id: UUID = await conn.fetchval(VERIFY_EMAIL, user_id)
        return employer_id

    async def employer_of(self, user_id: UUID, conn: Executor | None = None) -> EmployerStanding:
        row = await (conn or self._pool).fetchrow(EMPLOYER_OF_USER, user_id)
        if row is None:
            raise LookupError(f"no user {user_id}")
        return EmployerStanding(
            employer_id=row["id"],
            name=row["name"],
            status=EmployerStatus(row["status"]),
            decision_reason=row["decision_reason"],
        )

    async def users_of(self, employer_id: UUID) -> list[UserListing]:
        rows = await self._pool.fetch(LIST_USERS, employer_id)
        return [
            UserListing(
                user_id=row["id"],
                email=row["email"],
                name=row["name"],
                role=Role(row["role"]),
                totp_enrolled=row["totp_enrolled"],
                has_password=row["has_password"],
                locked_until=row["locked_until"],
                disabled_at=row["disabled_at"],
                created_at=row["created_at"],
            )
            for row in rows
        ]

    async def lock_users_of(
        self, conn: Connection, employer_id: UUID
    ) -> dict[UUID, tuple[Role, bool]]:
        """The employer's users (role, disabled), locked until the caller's transaction ends,
        so that two admins acting at once cannot both remove the last admin."""
        rows = await conn.fetch(LOCK_USERS_OF, employer_id)
        return {row["id"]: (Role(row["role"]), row["disabled"]) for row in rows}

    async def set_role(
        self, conn: Connection, employer_id: UUID, user_id: UUID, role: Role
    ) -> None:
        await conn.execute(SET_ROLE, employer_id, user_id, role.value)

    async def disable(self, conn: Connection, employer_id: UUID, user_id: UUID) -> None:
        await conn.execute(DISABLE_USER, employer_id, user_id)
        await conn.execute(END_SESSIONS_OF, user_id)

    async def register_employer(self, conn: Connection, credit_code: str, name: str) -> UUID | None:
        """A new employer awaiting its contact's e-mail; None if the code is registered."""
        employer_id: UUID | None = await conn.fetchval(
            REGISTER_EMPLOYER, uuid4(), credit_code, name
        )
        return employer_id

    async def email_in_use(self, email: str, conn: Executor | None = None) -> bool:
        in_use: bool = await (conn or self._pool).fetchval(EMAIL_IN_USE, email)
        return in_use

    async def await_approval(self, conn: Executor, employer_id: UUID) -> None:
        """The contact's e-mail is confirmed: the employer now waits for an operator."""
        await conn.execute(PENDING_AFTER_VERIFICATION, employer_id)

    async def api_keys_of(self, employer_id: UUID) -> list[ApiKeyListing]:
        rows = await self._pool.fetch(LIST_API_KEYS, employer_id)
        return [
            ApiKeyListing(
                key_id=row["key_id"],
                name=row["name"],
                created_by=row["created_by"],
                created_at=row["created_at"],
                revoked_at=row["revoked_at"],
            )
            for row in rows
        ]

    async def revoke_api_key(self, employer_id: UUID, key_id: str) -> bool:
        return (
            await self._pool.fetchval(REVOKE_API_KEY, employer_id, key_id, REVOCATIONS_CHANNEL)
            is not None
        )

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
