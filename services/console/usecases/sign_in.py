"""Signing in and out of the console: argon2 passwords, a lockout with backoff after repeated
failures, and server-side sessions."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.console.domain.roles import Operator, Role
from services.console.store.accounts import Accounts
from services.console.store.audit import AuditLog
from services.runtime.lockout import is_locked, locked_until_after_failure

HASHER = PasswordHasher()
# Verified against when the username is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = HASHER.hash("an account that does not exist")
MIN_PASSWORD_LENGTH = 12


class Refusal(StrEnum):
    BAD_CREDENTIALS = "bad-credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class SignedIn:
    operator: Operator
    session_token: str


class WeakPassword(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return HASHER.hash(password)


@dataclass
class SignIn:
    accounts: Accounts
    audit: AuditLog
    session_lifetime: timedelta
    lock_after: int
    first_lock_seconds: float

    async def __call__(self, username: str, password: str) -> SignedIn | Refusal:
        now = datetime.now(UTC)
        account = await self.accounts.account(username)
        if account is None or account.disabled:
            _verify(_DUMMY_HASH, password)
            await self.audit.record(actor=username[:64], action="sign-in-refused", target="console")
            return Refusal.BAD_CREDENTIALS
        if is_locked(account.locked_until, now):
            await self.audit.record(actor=username, action="sign-in-locked", target="console")
            return Refusal.LOCKED
        if not _verify(account.password_hash, password):
            lock = locked_until_after_failure(
                account.failed_attempts, now, self.lock_after, self.first_lock_seconds
            )
            await self.accounts.record_failure(username, lock)
            await self.audit.record(actor=username, action="sign-in-refused", target="console")
            return Refusal.LOCKED if lock is not None else Refusal.BAD_CREDENTIALS
        rehash = HASHER.hash(password) if HASHER.check_needs_rehash(account.password_hash) else None
        await self.accounts.record_success(username, rehash)
        token = secrets.token_urlsafe(32)
        await self.accounts.open_session(token, username, self.session_lifetime)
        await self.audit.record(actor=username, action="sign-in", target="console")
        return SignedIn(account.operator, token)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def add_operator(
    accounts: Accounts, username: str, display_name: str, role: Role, password: str
) -> None:
    await accounts.save(username, display_name, role, hash_password(password))
