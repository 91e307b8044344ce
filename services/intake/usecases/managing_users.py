"""An employer's admin manages its users: invites them by e-mail, changes their roles, disables
them. An employer always keeps one active admin, and an admin touches only its own users."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.intake.domain.account_rules import (
    Message,
    Refusals,
    check_name,
    email_or_refusal,
)
from services.intake.domain.accounts import Role, WebUser
from services.intake.store.accounts import TokenPurpose
from services.intake.usecases.account_links import AccountLinks

EMAIL_IN_USE = Message(
    "This e-mail address already has an account (here or at another employer).",
    "该电子邮箱已有账号（本单位或其他单位）。",
)
UNKNOWN_ROLE = Message("Choose a role.", "请选择角色。")


@dataclass(frozen=True)
class NoSuchUser:
    """Not a user of the admin's employer: answered as if it did not exist."""


@dataclass(frozen=True)
class LastAdmin:
    """The change would leave the employer without an active admin."""


@dataclass(frozen=True)
class Done:
    pass


def role_or_none(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


async def invite(
    links: AccountLinks, admin: WebUser, email: str, name: str, role_value: str
) -> UUID | Refusals:
    """A user without a password yet, and a mail whose link lets them set one."""
    refusals: Refusals = {}
    address, problem = email_or_refusal(email)
    if problem:
        refusals["email"] = problem
    if problem := check_name(name, Message("name", "姓名")):
        refusals["name"] = problem
    role = role_or_none(role_value)
    if role is None:
        refusals["role"] = UNKNOWN_ROLE
    if refusals or address is None or role is None:
        return refusals
    accounts = links.accounts
    try:
        async with accounts.transaction() as conn:
            if await accounts.email_in_use(address, conn):
                return {"email": EMAIL_IN_USE}
            user_id = await accounts.add_user(
                admin.employer_id, address, name.strip(), role, conn=conn
            )
            await links.send(
                conn,
                TokenPurpose.INVITATION,
                user_id=user_id,
                employer_id=admin.employer_id,
                organisation=admin.employer_name,
                recipient=address,
            )
    except asyncpg.UniqueViolationError:
        return {"email": EMAIL_IN_USE}
    await accounts.audit(
        "user-invited",
        "success",
        employer_id=admin.employer_id,
        user_id=admin.user_id,
        target=f"{user_id} as {role.value}",
    )
    return user_id


async def change_role(
    links: AccountLinks, admin: WebUser, user_id: UUID, role: Role
) -> Done | NoSuchUser | LastAdmin:
    accounts = links.accounts
    async with accounts.transaction() as conn:
        users = await accounts.lock_users_of(conn, admin.employer_id)
        if user_id not in users:
            return NoSuchUser()
        if role is not Role.ADMIN and _is_last_admin(users, user_id):
            outcome: Done | LastAdmin = LastAdmin()
        else:
            await accounts.set_role(conn, admin.employer_id, user_id, role)
            outcome = Done()
    await accounts.audit(
        "role-changed",
        "refused-last-admin" if isinstance(outcome, LastAdmin) else "success",
        employer_id=admin.employer_id,
        user_id=admin.user_id,
        target=f"{user_id} to {role.value}",
    )
    return outcome


async def disable(
    links: AccountLinks, admin: WebUser, user_id: UUID
) -> Done | NoSuchUser | LastAdmin:
    """The user can no longer sign in; their sessions end at once."""
    accounts = links.accounts
    async with accounts.transaction() as conn:
        users = await accounts.lock_users_of(conn, admin.employer_id)
        if user_id not in users:
            return NoSuchUser()
        if _is_last_admin(users, user_id):
            outcome: Done | LastAdmin = LastAdmin()
        else:
            await accounts.disable(conn, admin.employer_id, user_id)
            outcome = Done()
    await accounts.audit(
        "user-disabled",
        "refused-last-admin" if isinstance(outcome, LastAdmin) else "success",
        employer_id=admin.employer_id,
        user_id=admin.user_id,
        target=str(user_id),
    )
    return outcome


def _is_last_admin(users: dict[UUID, tuple[Role, bool]], user_id: UUID) -> bool:
    """True when `user_id` is an active admin and no other active admin exists."""
    active_admins = {
        uid for uid, (role, disabled) in users.items() if role is Role.ADMIN and not disabled
    }
    return active_admins == {user_id}
