"""One-time links sent by e-mail (verify the address, reset a password, accept an invitation):
issued and mailed in the caller's transaction, so the mail goes out exactly when the change it
reports is committed. Only the link's hash is stored; the mail carries the link sealed."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from services.contracts.events import AccountMail
from services.intake.store.account_mail import request_mail
from services.intake.store.accounts import AccountStore, Actor, Credentials, TokenPurpose
from services.runtime.db import Connection
from services.runtime.secret_box import SecretBox

MAIL_OF_PURPOSE = {
    TokenPurpose.VERIFY_EMAIL: AccountMail.VERIFY_EMAIL,
    TokenPurpose.RESET_PASSWORD: AccountMail.PASSWORD_RESET,
    TokenPurpose.INVITATION: AccountMail.INVITATION,
}

PASSWORDS = PasswordHasher()
# Links anyone may ask for (a new verification link, a password reset) go to one address at most
# this often, so the forms cannot be used to flood a mailbox. Counted per intake process.
ASKED_MAILS_PER_ADDRESS = "5/hour"


class MailThrottle:
    def __init__(self, rate: str = ASKED_MAILS_PER_ADDRESS) -> None:
        self._limit: RateLimitItem = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def allow(self, address: str) -> bool:
        return await self._limiter.hit(self._limit, "account-mail", address.lower())


async def hash_password(password: str) -> str:
    """argon2id, off the event loop (it is meant to be slow)."""
    return await asyncio.to_thread(PASSWORDS.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return PASSWORDS.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


@dataclass(frozen=True)
class AccountLinks:
    accounts: AccountStore
    mail_box: SecretBox
    base_url: str  # where the employer pages are reached from outside
    lifetime: timedelta
    throttle: MailThrottle = field(default_factory=MailThrottle)

    async def send(
        self,
        conn: Connection,
        purpose: TokenPurpose,
        *,
        user_id: UUID,
        employer_id: UUID,
        organisation: str,
        recipient: str,
    ) -> None:
        token = await self.accounts.issue_token(conn, user_id, purpose, self.lifetime)
        await request_mail(
            conn,
            self.mail_box,
            employer_id=employer_id,
            kind=MAIL_OF_PURPOSE[purpose],
            organisation=organisation,
            recipient=recipient,
            link=f"{self.base_url.rstrip('/')}/{purpose.value}/{token}",
            link_valid_hours=self.lifetime.total_seconds() / 3600,
        )

    async def send_asked(self, found: Credentials, purpose: TokenPurpose, action: str) -> None:
        """A link someone asked for by address (a reset, a new verification link): throttled
        per address, mailed in a transaction of its own, and audited as `action`."""
        ids = Actor(employer_id=found.employer_id, user_id=found.user_id)
        if not await self.throttle.allow(found.email):
            await self.accounts.audit(action, "throttled", **ids)
            return
        async with self.accounts.transaction() as conn:
            await self.send(
                conn,
                purpose,
                user_id=found.user_id,
                employer_id=found.employer_id,
                organisation=found.employer_name,
                recipient=found.email,
            )
        await self.accounts.audit(action, "mailed", **ids)
