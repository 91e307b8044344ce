"""Operators and their sessions in PostgreSQL. A session row is keyed by the SHA-256 of the
token the cookie carries, so the table alone cannot be replayed as cookies."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.console.domain.roles import Operator, Role

UPSERT_OPERATOR = """
INSERT INTO operators (username, display_name, role, password_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name,
    role = EXCLUDED.role, password_hash = EXCLUDED.password_hash, disabled = false,
    failed_attempts = 0, locked_until = NULL
"""
ACCOUNT = """
SELECT username, display_name, role, password_hash, disabled, failed_attempts, locked_until
FROM operators WHERE username = $1
"""
FAILED = """
UPDATE operators SET failed_attempts = failed_attempts + 1, locked_until = $2
WHERE username = $1 RETURNING failed_attempts
"""
SUCCEEDED = "UPDATE operators SET failed_attempts = 0, locked_until = NULL WHERE username = $1"
REHASHED = "UPDATE operators SET password_hash = $2 WHERE username = $1"
OPEN_SESSION = "INSERT INTO sessions (id, username, expires_at) VALUES ($1, $2, $3)"
SESSION_OPERATOR = """
SELECT o.username, o.display_name, o.role FROM sessions s JOIN operators o USING (username)
WHERE s.id = $1 AND s.expires_at > now() AND NOT o.disabled
"""
CLOSE_SESSION = "DELETE FROM sessions WHERE id = $1"
EXPIRED_SESSIONS = "DELETE FROM sessions WHERE expires_at <= now()"
DISABLE = "UPDATE operators SET disabled = true WHERE username = $1"
END_SESSIONS_OF = "DELETE FROM sessions WHERE username = $1"


@dataclass(frozen=True)
class Account:
    operator: Operator
    password_hash: str
    disabled: bool
    failed_attempts: int
    locked_until: datetime | None


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def save(self, username: str, display_name: str, role: Role, password_hash: str) -> None:
        await self._pool.execute(UPSERT_OPERATOR, username, display_name, role.value, password_hash)

    async def account(self, username: str) -> Account | None:
        row = await self._pool.fetchrow(ACCOUNT, username)
        if row is None:
            return None
        operator = Operator(row["username"], row["display_name"], Role(row["role"]))
        return Account(
            operator,
            row["password_hash"],
            row["disabled"],
            row["failed_attempts"],
            row["locked_until"],
        )

    async def record_failure(self, username: str, locked_until: datetime | None) -> None:
        await self._pool.execute(FAILED, username, locked_until)

    async def record_success(self, username: str, new_hash: str | None) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(SUCCEEDED, username)
            if new_hash is not None:
                await conn.execute(REHASHED, username, new_hash)

    async def disable(self, username: str) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.execute(DISABLE, username)
            await conn.execute(END_SESSIONS_OF, username)
        return done.endswith(" 1")

    async def open_session(self, token: str, username: str, lifetime: timedelta) -> None:
        await self._pool.execute(
            OPEN_SESSION, _session_key(token), username, datetime.now().astimezone() + lifetime
        )

    async def session_operator(self, token: str) -> Operator | None:
        row = await self._pool.fetchrow(SESSION_OPERATOR, _session_key(token))
        if row is None:
            return None
        return Operator(row["username"], row["display_name"], Role(row["role"]))

    async def close_session(self, token: str) -> None:
        await self._pool.execute(CLOSE_SESSION, _session_key(token))

    async def forget_expired_sessions(self) -> None:
        await self._pool.execute(EXPIRED_SESSIONS)
