"""The pure rules of employer accounts: what sign-up accepts, and which TOTP codes count."""

from datetime import UTC, datetime, timedelta

import pyotp

from services.intake.domain.account_rules import (
    check_credit_code,
    check_new_password,
    email_or_refusal,
    phone_or_refusal,
)
from services.intake.usecases.signing_in import LockoutPolicy, matching_step
from tests.intake.support import credit_code


def test_phone_numbers_are_stored_in_e164_and_nonsense_is_refused() -> None:
    assert phone_or_refusal("138 0013 8000") == ("+8613800138000", None)
    assert phone_or_refusal("010 6512 3456") == ("+861065123456", None)
    assert phone_or_refusal("+44 20 7946 0958") == ("+442079460958", None)
    for bad in ("12345", "phone", "", "+1 555"):
        number, problem = phone_or_refusal(bad)
        assert number is None and problem is not None


def test_e_mail_addresses_are_normalised_and_lower_cased() -> None:
    assert email_or_refusal(" Li.Wei@Example.COM ") == ("li.wei@example.com", None)
    address, problem = email_or_refusal("li.wei@")
    assert address is None and problem is not None and "not valid" in problem.en


def test_credit_codes_are_checked_by_their_check_character() -> None:
    good = credit_code(123)
    assert check_credit_code(good) is None
    assert check_credit_code(good.lower()) is None  # read in capitals
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert check_credit_code(wrong_check) is not None
    assert check_credit_code("") is not None


def test_new_passwords_are_long_enough_not_the_address_and_confirmed() -> None:
    email = "li.wei@example.com"
    assert check_new_password("a long enough passphrase", "a long enough passphrase", email) == {}
    assert set(check_new_password("short", "short", email)) == {"password"}
    assert set(check_new_password(email + "!!", email + "!!", email)) == {"password"}
    assert set(check_new_password("a long enough passphrase", "other", email)) == {
        "password_confirmation"
    }


def test_a_code_matches_its_own_step_and_the_neighbouring_ones_only() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = datetime(2026, 11, 27, 12, 0, 10, tzinfo=UTC)
    step = totp.timecode(now)
    assert matching_step(secret, totp.at(now), now) == step
    assert matching_step(secret, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=90)), now) is None
    assert matching_step(secret, "12345", now) is None
    assert matching_step(secret, "abcdef", now) is None


def test_the_lock_starts_after_the_threshold_and_doubles() -> None:
    policy = LockoutPolicy(lock_after=3, first_lock_seconds=30)
    now = datetime(2026, 11, 27, tzinfo=UTC)
    assert policy.lock_after_failure(0, now) is None
    assert policy.lock_after_failure(1, now) is None
    assert policy.lock_after_failure(2, now) == now + timedelta(seconds=30)
    assert policy.lock_after_failure(3, now) == now + timedelta(seconds=60)
    assert policy.lock_after_failure(4, now) == now + timedelta(seconds=120)
