"""An employer signs up: the organisation and its contact, who becomes its first admin, confirm
the contact's e-mail by a link; then the employer waits for an operator's approval."""

from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.intake.domain.account_rules import (
    Message,
    Refusals,
    check_credit_code,
    check_name,
    check_new_password,
    email_or_refusal,
    normalised_credit_code,
    phone_or_refusal,
)
from services.intake.domain.accounts import EmployerStatus, Role
from services.intake.store.accounts import TokenProblem, TokenPurpose
from services.intake.usecases.account_links import AccountLinks, hash_password
from services.runtime.db import Connection

EMAIL_IN_USE = Message(
    "This e-mail address already has an account: sign in, or reset its password.",
    "该电子邮箱已注册账号：请直接登录，或重置密码。",
)
CREDIT_CODE_REGISTERED = Message(
    "An employer with this unified social credit code is already registered. Ask its "
    "administrator to invite you.",
    "该统一社会信用代码的单位已注册。请联系该单位的管理员邀请您加入。",
)


@dataclass(frozen=True)
class SignUpForm:
    organisation: str
    credit_code: str
    contact_name: str
    email: str
    phone: str
    password: str
    password_confirmation: str


@dataclass(frozen=True)
class SignedUp:
    employer_id: UUID
    user_id: UUID
    email: str


@dataclass(frozen=True)
class _Checked:
    organisation: str
    credit_code: str
    contact_name: str
    email: str
    phone: str


def check_sign_up(form: SignUpForm) -> _Checked | Refusals:
    refusals: Refusals = {}
    if problem := check_name(form.organisation, Message("organisation's name", "单位名称")):
        refusals["organisation"] = problem
    if problem := check_credit_code(form.credit_code):
        refusals["credit_code"] = problem
    if problem := check_name(form.contact_name, Message("contact's name", "联系人姓名")):
        refusals["contact_name"] = problem
    email, problem = email_or_refusal(form.email)
    if problem:
        refusals["email"] = problem
    phone, problem = phone_or_refusal(form.phone)
    if problem:
        refusals["phone"] = problem
    refusals |= check_new_password(form.password, form.password_confirmation, email)
    if refusals or email is None or phone is None:
        return refusals
    return _Checked(
        form.organisation.strip(),
        normalised_credit_code(form.credit_code),
        form.contact_name.strip(),
        email,
        phone,
    )


async def sign_up(links: AccountLinks, form: SignUpForm) -> SignedUp | Refusals:
    """One transaction: the employer (unverified), its first admin, and the verification mail."""
    checked = check_sign_up(form)
    if not isinstance(checked, _Checked):
        return checked
    password_hash = await hash_password(form.password)
    accounts = links.accounts
    try:
        async with accounts.transaction() as conn:
            if await accounts.email_in_use(checked.email, conn):
                return {"email": EMAIL_IN_USE}
            employer_id = await accounts.register_employer(
                conn, checked.credit_code, checked.organisation
            )
            if employer_id is None:
                return {"credit_code": CREDIT_CODE_REGISTERED}
            user_id = await _first_admin(conn, links, employer_id, checked, password_hash)
    except asyncpg.UniqueViolationError:  # the same address signed up at the same moment
        return {"email": EMAIL_IN_USE}
    await accounts.audit("sign-up", "success", employer_id=employer_id, user_id=user_id)
    return SignedUp(employer_id, user_id, checked.email)


async def _first_admin(
    conn: Connection,
    links: AccountLinks,
    employer_id: UUID,
    checked: _Checked,
    password_hash: str,
) -> UUID:
    user_id = await links.accounts.add_user(
        employer_id,
        checked.email,
        checked.contact_name,
        Role.ADMIN,
        phone=checked.phone,
        password_hash=password_hash,
        conn=conn,
    )
    await links.send(
        conn,
        TokenPurpose.VERIFY_EMAIL,
        user_id=user_id,
        employer_id=employer_id,
        organisation=checked.organisation,
        recipient=checked.email,
    )
    return user_id


async def verify_email(links: AccountLinks, token: str) -> EmployerStatus | TokenProblem:
    """Uses the link once: the address is confirmed and the employer waits for approval."""
    accounts = links.accounts
    async with accounts.transaction() as conn:
        used = await accounts.consume_token(conn, token, TokenPurpose.VERIFY_EMAIL)
        if isinstance(used, TokenProblem):
            return used
        employer_id = await accounts.verify_email(conn, used)
        await accounts.await_approval(conn, employer_id)
        standing = await accounts.employer_of(used, conn)
    await accounts.audit("verify-email", "success", employer_id=employer_id, user_id=used)
    return standing.status


async def resend_verification(links: AccountLinks, email: str) -> None:
    """A new link for an address not yet confirmed; nothing (and no sign of it) otherwise."""
    address, problem = email_or_refusal(email)
    if problem or address is None:
        return
    accounts = links.accounts
    found = await accounts.credentials(address)
    if found is None or found.email_verified or found.disabled or found.password_hash is None:
        return
    await links.send_asked(found, TokenPurpose.VERIFY_EMAIL, "verify-email-resent")
