"""An employer's user signs in: the password, then the second factor (TOTP), with one lockout
counting failures of both. Unknown addresses and wrong passwords get the same answer."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pyotp
import segno

from services.intake.domain.accounts import SessionStage, WebUser
from services.intake.store.accounts import AccountStore, Actor, SecondFactor
from services.intake.usecases.account_links import PASSWORDS, hash_password, password_matches
from services.runtime.lockout import is_locked, locked_until_after_failure
from services.runtime.secret_box import SecretBox

# Verified against when the address is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = PASSWORDS.hash("an account that does not exist")
ISSUER = "Qualification verification"
# A code of the step before or after the current one is accepted too (clocks drift).
VALID_WINDOW = 1


@dataclass(frozen=True)
class LockoutPolicy:
    lock_after: int
    first_lock_seconds: float

    def lock_after_failure(self, failures_before: int, now: datetime) -> datetime | None:
        return locked_until_after_failure(
            failures_before, now, self.lock_after, self.first_lock_seconds
        )


@dataclass(frozen=True)
class BadCredentials:
    pass


@dataclass(frozen=True)
class Locked:
    until: datetime


@dataclass(frozen=True)
class Unverified:
    email: str


@dataclass(frozen=True)
class PasswordAccepted:
    user_id: UUID


@dataclass(frozen=True)
class CodeAccepted:
    pass


@dataclass(frozen=True)
class WrongCode:
    pass


@dataclass(frozen=True)
class Enrolment:
    secret: str  # for typing into an authenticator by hand
    uri: str
    qr_data_uri: str  # the same URI as a QR code, an SVG data URI


def _totp_binding(user_id: UUID) -> str:
    return f"totp:{user_id}"


async def sign_in_with_password(
    accounts: AccountStore, policy: LockoutPolicy, email: str, password: str
) -> PasswordAccepted | BadCredentials | Locked | Unverified:
    now = datetime.now(UTC)
    found = await accounts.credentials(email.strip())
    if found is None or found.disabled or found.password_hash is None:
        await password_matches(_DUMMY_HASH, password)
        await accounts.audit("sign-in", "refused", target="unknown-or-disabled")
        return BadCredentials()
    ids = Actor(employer_id=found.employer_id, user_id=found.user_id)
    if is_locked(found.locked_until, now) and found.locked_until is not None:
        await accounts.audit("sign-in", "locked", **ids)
        return Locked(found.locked_until)
    if not await password_matches(found.password_hash, password):
        return await _failed(accounts, policy, found.user_id, found.failed_sign_ins, ids, now)
    if not found.email_verified:
        await accounts.audit("sign-in", "unverified-email", **ids)
        return Unverified(found.email)
    if PASSWORDS.check_needs_rehash(found.password_hash):
        await accounts.record_success(found.user_id, await hash_password(password))
    # The failures in a row are cleared only once the second factor is given too.
    await accounts.audit("sign-in-password", "success", **ids)
    return PasswordAccepted(found.user_id)


async def _failed(
    accounts: AccountStore,
    policy: LockoutPolicy,
    user_id: UUID,
    failures_before: int,
    ids: Actor,
    now: datetime,
    action: str = "sign-in",
) -> BadCredentials | Locked:
    lock = policy.lock_after_failure(failures_before, now)
    await accounts.record_failure(user_id, lock)
    await accounts.audit(action, "refused" if lock is None else "locked", **ids)
    return BadCredentials() if lock is None else Locked(lock)


async def enrolment(accounts: AccountStore, data_box: SecretBox, user: WebUser) -> Enrolment:
    """The secret offered to a user without a second factor (the same until confirmed)."""
    factor = await accounts.second_factor(user.user_id)
    binding = _totp_binding(user.user_id)
    if factor.sealed_pending is not None:
        secret = data_box.unseal(factor.sealed_pending, user.employer_id, binding)
    else:
        secret = pyotp.random_base32()
        await accounts.offer_totp(user.user_id, data_box.seal(secret, user.employer_id, binding))
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return Enrolment(secret=_grouped(secret), uri=uri, qr_data_uri=qr)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is, within the window, or None."""
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    if len(code) != totp.digits or not code.isdigit():
        return None
    current = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        candidate = totp.generate_otp(current + offset)
        if secrets.compare_digest(candidate, code):
            return current + offset
    return None


async def give_second_factor(
    accounts: AccountStore,
    data_box: SecretBox,
    policy: LockoutPolicy,
    user: WebUser,
    code: str,
) -> CodeAccepted | WrongCode | Locked:
    """Checks the code, enrolling the offered secret if the user has none yet. A code is
    accepted once; wrong codes count towards the lockout."""
    now = datetime.now(UTC)
    factor = await accounts.second_factor(user.user_id)
    ids = Actor(employer_id=user.employer_id, user_id=user.user_id)
    if is_locked(factor.locked_until, now) and factor.locked_until is not None:
        await accounts.audit("second-factor", "locked", **ids)
        return Locked(factor.locked_until)
    sealed = factor.sealed_secret or factor.sealed_pending
    if sealed is None:
        return WrongCode()
    secret = data_box.unseal(sealed, user.employer_id, _totp_binding(user.user_id))
    step = matching_step(secret, code, now)
    if step is not None and await _accept(accounts, user.user_id, factor, sealed, step):
        await accounts.record_success(user.user_id)
        enrolled = factor.sealed_secret is None
        await accounts.audit("second-factor", "enrolled" if enrolled else "success", **ids)
        return CodeAccepted()
    failures = factor.failed_sign_ins
    outcome = await _failed(accounts, policy, user.user_id, failures, ids, now, "second-factor")
    return WrongCode() if isinstance(outcome, BadCredentials) else outcome


async def _accept(
    accounts: AccountStore, user_id: UUID, factor: SecondFactor, sealed: str, step: int
) -> bool:
    if factor.sealed_secret is None:
        return await accounts.enrol_totp(user_id, sealed, step)
    return await accounts.accept_totp_step(user_id, step)


async def open_full_session(
    accounts: AccountStore, user: WebUser, password_token: str, lifetime: timedelta
) -> str:
    """The stage-`password` session ends and a new one, with a new token, begins."""
    await accounts.close_session(password_token)
    token = await accounts.open_session(user.user_id, SessionStage.FULL, lifetime)
    await accounts.audit("sign-in", "success", employer_id=user.employer_id, user_id=user.user_id)
    return token
