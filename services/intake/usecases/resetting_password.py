"""A forgotten password: a link by e-mail, then a new password, which ends every session of the
user and clears their lockout. Asking never tells whether the address has an account."""

from dataclasses import dataclass
from uuid import UUID

from services.intake.domain.account_rules import Refusals, check_new_password, email_or_refusal
from services.intake.store.accounts import AccountStore, TokenProblem, TokenPurpose
from services.intake.usecases.account_links import AccountLinks, hash_password


@dataclass(frozen=True)
class PasswordSet:
    user_id: UUID


async def request_reset(links: AccountLinks, email: str) -> None:
    """Mails a reset link if the address names a user who may sign in; otherwise nothing."""
    address, problem = email_or_refusal(email)
    if problem or address is None:
        return
    accounts = links.accounts
    found = await accounts.credentials(address)
    if found is None or found.disabled:
        await accounts.audit("password-reset-requested", "unknown-or-disabled")
        return
    await links.send_asked(found, TokenPurpose.RESET_PASSWORD, "password-reset-requested")


async def set_password_by_link(
    accounts: AccountStore, purpose: TokenPurpose, token: str, password: str, confirmation: str
) -> PasswordSet | TokenProblem | Refusals:
    """Uses a reset or invitation link once to set the user's password."""
    if problem := await accounts.token_problem(token, purpose):
        return problem
    email = await accounts.email_of_token(token)
    if refusals := check_new_password(password, confirmation, email):
        return refusals
    password_hash = await hash_password(password)
    async with accounts.transaction() as conn:
        used = await accounts.consume_token(conn, token, purpose)
        if isinstance(used, TokenProblem):
            return used
        await accounts.set_password(conn, used, password_hash)
        await accounts.end_sessions_of(used, conn)
        standing = await accounts.employer_of(used, conn)
    action = "password-reset" if purpose is TokenPurpose.RESET_PASSWORD else "invitation-accepted"
    await accounts.audit(action, "success", employer_id=standing.employer_id, user_id=used)
    return PasswordSet(used)
