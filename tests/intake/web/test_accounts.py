"""Employers' accounts through the pages: sign-up and its e-mail link, sign-in with the second
factor, the lockout and its backoff, password reset, CSRF."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pyotp
import pytest
from limits import parse

from services.contracts.events import AccountMail
from services.intake.usecases.account_links import ASKED_MAILS_PER_ADDRESS
from services.intake.web.accounts import SECOND_FACTOR_WAIT
from services.intake.web.deps import WebDeps
from tests.intake.support import credit_code
from tests.intake.web.account_mail import last_link, mails_to
from tests.intake.web.support import client_as, post_form

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
SECRET = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')
_serial = iter(range(800_000_000, 900_000_000))


def sign_up_form(**changes: str) -> dict[str, str]:
    serial = next(_serial)
    form = {
        "organisation": "Acme Robotics Ltd. 艾克米机器人有限公司",
        "credit_code": credit_code(serial),
        "contact_name": "Li Wei 李伟",
        "email": f"li.wei.{serial}@acme.example.com",
        "phone": "+86 138 0013 8000",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
    }
    return form | changes


def path_of(link: str) -> str:
    return urlsplit(link).path


async def signed_up(deps: WebDeps, web_url: str, *, active: bool = True) -> dict[str, str]:
    """An employer signed up through the page, its e-mail confirmed (and approved)."""
    form = sign_up_form()
    async with client_as(web_url) as client:
        answer = await post_form(client, "/sign-up", "/sign-up", form)
        assert answer.status_code == 200, answer.text
        link = await last_link(deps, form["email"], AccountMail.VERIFY_EMAIL)
        assert (await client.get(path_of(link))).status_code == 200
    if active:
        await deps.store._pool.execute(
            "UPDATE employers SET status = 'active' WHERE credit_code = $1", form["credit_code"]
        )
    return form


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await post_form(client, "/sign-in", "/sign-in", {"email": email, "password": password})


async def employer_status(deps: WebDeps, code: str) -> str:
    status: str = await deps.store._pool.fetchval(
        "SELECT status FROM employers WHERE credit_code = $1", code
    )
    return status


# Sign-up


async def test_sign_up_refuses_each_bad_field_next_to_it_and_keeps_what_was_typed(
    web_url: str,
) -> None:
    form = sign_up_form(
        credit_code="91110108MA01234567",
        email="not-an-address",
        phone="12345",
        password="short",
        password_confirmation="short",
        contact_name="  ",
    )
    async with client_as(web_url) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await post_form(client, "/sign-up", "/sign-up", form)
    assert answer.status_code == 400
    page = answer.text
    assert "not a valid unified social credit code" in page
    assert "This e-mail address is not valid" in page
    assert "This phone number is not valid" in page
    assert "A password has at least 12 characters" in page
    assert "Enter the contact&#39;s name" in page
    assert 'value="91110108MA01234567"' in page  # kept
    assert 'value="not-an-address"' in page
    assert 'value="Acme Robotics Ltd. 艾克米机器人有限公司"' in page
    assert "short" not in re.findall(r'value="([^"]*)"', page)  # never the password


async def test_sign_up_refuses_the_e_mail_as_password_and_differing_confirmation(
    web_url: str,
) -> None:
    async with client_as(web_url) as client:
        form = sign_up_form()
        form["password"] = form["password_confirmation"] = "x" + form["email"]
        as_email = await post_form(client, "/sign-up", "/sign-up", form)
        differing = await post_form(
            client, "/sign-up", "/sign-up", sign_up_form(password_confirmation="another one!!")
        )
    assert as_email.status_code == 400
    assert "密码不得包含您的电子邮箱地址" in as_email.text
    assert differing.status_code == 400
    assert "两次输入的密码不一致" in differing.text


async def test_sign_up_refuses_a_registered_credit_code_and_an_address_in_use(
    deps: WebDeps, web_url: str
) -> None:
    first = await signed_up(deps, web_url, active=False)
    async with client_as(web_url) as client:
        client.cookies.set("qv_employer_lang", "en")
        same_code = await post_form(
            client, "/sign-up", "/sign-up", sign_up_form(credit_code=first["credit_code"])
        )
        same_email = await post_form(
            client, "/sign-up", "/sign-up", sign_up_form(email=first["email"].upper())
        )
    assert same_code.status_code == 400
    assert "already registered" in same_code.text
    assert same_email.status_code == 400
    assert "already has an account" in same_email.text


async def test_the_verification_link_moves_the_employer_to_pending_once(
    deps: WebDeps, web_url: str
) -> None:
    form = sign_up_form()
    async with client_as(web_url) as client:
        await post_form(client, "/sign-up", "/sign-up", form)
        assert await employer_status(deps, form["credit_code"]) == "unverified"
        [mail] = await mails_to(deps, form["email"])
        assert mail.kind is AccountMail.VERIFY_EMAIL
        assert mail.organisation == form["organisation"]
        assert mail.link and mail.link.startswith(f"{deps.settings.web_base_url}/verify-email/")
        first = await client.get(path_of(mail.link))
        again = await client.get(path_of(mail.link))
    assert first.status_code == 200
    assert "等待运营人员审核" in first.text
    assert await employer_status(deps, form["credit_code"]) == "pending"
    assert again.status_code == 400
    assert "已被使用" in again.text


async def test_an_expired_verification_link_is_refused_and_a_new_one_can_be_asked(
    deps: WebDeps, web_url: str
) -> None:
    form = sign_up_form()
    async with client_as(web_url) as client:
        await post_form(client, "/sign-up", "/sign-up", form)
        await deps.store._pool.execute(
            "UPDATE account_tokens SET expires_at = now() - interval '1 second' "
            "WHERE purpose = 'verify-email' AND used_at IS NULL"
        )
        link = await last_link(deps, form["email"], AccountMail.VERIFY_EMAIL)
        expired = await client.get(path_of(link))
        resent = await post_form(
            client, path_of(link), "/verify-email/resend", {"email": form["email"]}
        )
        fresh = await last_link(deps, form["email"], AccountMail.VERIFY_EMAIL)
        confirmed = await client.get(path_of(fresh))
    assert expired.status_code == 400
    assert "已过期" in expired.text
    assert resent.status_code == 200
    assert fresh != link
    assert confirmed.status_code == 200
    assert await employer_status(deps, form["credit_code"]) == "pending"


# Sign-in


async def test_unknown_address_and_wrong_password_get_the_same_refusal(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        wrong = await sign_in(client, form["email"], "not the password at all")
        unknown = await sign_in(client, "nobody@acme.example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert "电子邮箱或密码不正确" in wrong.text
    assert "电子邮箱或密码不正确" in unknown.text
    assert "qv_employer_session" not in wrong.cookies


async def test_an_unconfirmed_address_is_told_so_and_offered_a_new_link(
    deps: WebDeps, web_url: str
) -> None:
    form = sign_up_form()
    async with client_as(web_url) as client:
        await post_form(client, "/sign-up", "/sign-up", form)
        answer = await sign_in(client, form["email"], PASSWORD)
    assert answer.status_code == 400
    assert "尚未确认" in answer.text
    assert 'action="/verify-email/resend"' in answer.text


async def test_failures_in_a_row_lock_the_account_and_the_lock_doubles(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url)
    settings = deps.settings
    async with client_as(web_url) as client:
        client.cookies.set("qv_employer_lang", "en")
        for _ in range(settings.lockout_after - 1):
            assert "is wrong" in (await sign_in(client, form["email"], "wrong password")).text
        locking = await sign_in(client, form["email"], "wrong password")
        right_but_locked = await sign_in(client, form["email"], PASSWORD)
        first_lock = await locked_until(deps, form["email"])
        await expire_lock(deps, form["email"])
        relocked = await sign_in(client, form["email"], "wrong password")
        second_lock = await locked_until(deps, form["email"])
    assert "locked until" in locking.text
    assert "locked until" in right_but_locked.text
    assert "qv_employer_session" not in right_but_locked.cookies
    now = datetime.now(UTC)
    first = timedelta(seconds=settings.lockout_seconds)
    assert first - timedelta(seconds=5) < first_lock - now + timedelta(seconds=1) < first * 1.2
    assert "locked until" in relocked.text
    assert second_lock - now > first * 2 - timedelta(seconds=5)  # doubled
    audit = await deps.store._pool.fetch(
        "SELECT outcome FROM account_audit WHERE action = 'sign-in' AND user_id = "
        "(SELECT id FROM employer_users WHERE email = $1)",
        form["email"],
    )
    assert {"refused", "locked"} <= {row["outcome"] for row in audit}


async def locked_until(deps: WebDeps, email: str) -> datetime:
    until: datetime = await deps.store._pool.fetchval(
        "SELECT locked_until FROM employer_users WHERE email = $1", email
    )
    return until


async def expire_lock(deps: WebDeps, email: str) -> None:
    await deps.store._pool.execute(
        "UPDATE employer_users SET locked_until = now() - interval '1 second' WHERE email = $1",
        email,
    )


async def enrol(client: httpx.AsyncClient, email: str) -> pyotp.TOTP:
    """Signs in with the password and enrols the second factor; the client is signed in."""
    answer = await sign_in(client, email, PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/second-factor")
    page = await client.get("/second-factor")
    found = SECRET.search(page.text)
    assert found, page.text
    assert 'src="data:image/svg+xml' in page.text  # the QR code
    assert 'href="/applications"' not in page.text  # no sections before the second factor
    assert 'action="/sign-out"' in page.text
    totp = pyotp.TOTP(found.group(1).replace(" ", ""))
    wrong = await post_form(client, "/second-factor", "/second-factor", {"code": "000000"})
    if totp.now() != "000000":
        assert wrong.status_code == 400
    accepted = await post_form(client, "/second-factor", "/second-factor", {"code": totp.now()})
    assert accepted.status_code == 303, accepted.text
    return totp


async def test_sign_in_enrols_the_second_factor_and_refuses_a_replayed_code(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        before = await client.get("/")
        assert before.status_code == 303  # not signed in
        totp = await enrol(client, form["email"])
        home = await client.get("/")
        assert home.status_code == 200
        assert form["organisation"] in home.text
        await post_form(client, "/", "/sign-out", {})
        assert (await client.get("/")).status_code == 303

        await sign_in(client, form["email"], PASSWORD)
        held_back = await client.get("/applications")
        assert held_back.headers["location"] == "/second-factor"
        replayed = await post_form(client, "/second-factor", "/second-factor", {"code": totp.now()})
        next_step = totp.at(datetime.now(UTC) + timedelta(seconds=totp.interval))
        accepted = await post_form(client, "/second-factor", "/second-factor", {"code": next_step})
        assert (await client.get("/")).status_code == 200
    assert replayed.status_code == 400
    assert "已使用过" in replayed.text
    assert accepted.status_code == 303
    outcomes = await deps.store._pool.fetch(
        "SELECT action, outcome FROM account_audit WHERE user_id = "
        "(SELECT id FROM employer_users WHERE email = $1)",
        form["email"],
    )
    seen = {(row["action"], row["outcome"]) for row in outcomes}
    assert {("second-factor", "enrolled"), ("sign-in", "success")} <= seen
    assert ("second-factor", "refused") in seen


async def test_wrong_codes_count_towards_the_lockout(deps: WebDeps, web_url: str) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        client.cookies.set("qv_employer_lang", "en")
        await enrol(client, form["email"])
        await post_form(client, "/", "/sign-out", {})
        await sign_in(client, form["email"], PASSWORD)
        for _ in range(deps.settings.lockout_after):
            answer = await post_form(client, "/second-factor", "/second-factor", {"code": "12345x"})
    assert "locked until" in answer.text


async def test_sign_in_rotates_the_session(deps: WebDeps, web_url: str) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        await sign_in(client, form["email"], PASSWORD)
        password_stage = client.cookies["qv_employer_session"]
        await sign_in(client, form["email"], PASSWORD)
        again = client.cookies["qv_employer_session"]
    assert password_stage != again
    waits = await deps.store._pool.fetch(
        "SELECT s.expires_at - s.created_at AS wait FROM web_sessions s JOIN employer_users u "
        "ON u.id = s.user_id WHERE u.email = $1 AND s.stage = 'password'",
        form["email"],
    )
    [wait] = [row["wait"] for row in waits]  # the first one was closed
    assert abs(wait - SECOND_FACTOR_WAIT) < timedelta(seconds=5)
    async with client_as(web_url) as stale:
        stale.cookies.set("qv_employer_session", password_stage)
        assert (await stale.get("/second-factor")).status_code == 303


async def test_a_user_of_a_pending_employer_signs_in_and_sees_where_it_stands(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url, active=False)
    async with client_as(web_url) as client:
        await enrol(client, form["email"])
        held = await client.get("/applications")
        page = await client.get("/awaiting-approval")
        await deps.store._pool.execute(
            "UPDATE employers SET status = 'rejected', decision_reason = $2 WHERE credit_code = $1",
            form["credit_code"],
            "The licence copy is unreadable",
        )
        rejected = await client.get("/awaiting-approval")
        await deps.store._pool.execute(
            "UPDATE employers SET status = 'active' WHERE credit_code = $1", form["credit_code"]
        )
        approved = await client.get("/awaiting-approval")
        home = await client.get("/")
    assert held.headers["location"] == "/awaiting-approval"
    assert "等待运营人员审核" in page.text
    assert "The licence copy is unreadable" in rejected.text
    assert approved.headers["location"] == "/"
    assert home.status_code == 200


# Password reset


async def test_reset_by_e_mail_sets_the_password_ends_sessions_and_clears_the_lock(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url)
    new_password = "a brand new passphrase"
    async with client_as(web_url) as other_device, client_as(web_url) as client:
        await enrol(other_device, form["email"])
        for _ in range(deps.settings.lockout_after):
            await sign_in(client, form["email"], "wrong password")
        unknown = await post_form(
            client, "/reset-password", "/reset-password", {"email": "nobody@acme.example.com"}
        )
        known = await post_form(
            client, "/reset-password", "/reset-password", {"email": form["email"]}
        )
        link = path_of(await last_link(deps, form["email"], AccountMail.PASSWORD_RESET))
        too_short = await post_form(
            client, link, link, {"password": "short", "password_confirmation": "short"}
        )
        done = await post_form(
            client, link, link, {"password": new_password, "password_confirmation": new_password}
        )
        reused = await client.get(link)
        old_session_ended = await other_device.get("/")
        signed_in = await sign_in(client, form["email"], new_password)
        old_password = await sign_in(client, form["email"], PASSWORD)
    assert unknown.status_code == known.status_code == 200
    assert unknown.text.replace(unknown.text, "") == known.text.replace(known.text, "")
    assert _body(unknown.text) == _body(known.text)
    assert too_short.status_code == 400
    assert done.status_code == 303
    assert reused.status_code == 400
    assert old_session_ended.status_code == 303
    assert signed_in.status_code == 303  # the lock is cleared
    assert old_password.status_code == 400


async def test_links_anyone_may_ask_for_are_throttled_per_address(
    deps: WebDeps, web_url: str
) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        answers = [
            await post_form(client, "/reset-password", "/reset-password", {"email": form["email"]})
            for _ in range(7)
        ]
    assert {answer.status_code for answer in answers} == {200}
    assert len({_body(answer.text) for answer in answers}) == 1  # the same answer every time
    resets = [
        m for m in await mails_to(deps, form["email"]) if m.kind is AccountMail.PASSWORD_RESET
    ]
    assert len(resets) == parse(ASKED_MAILS_PER_ADDRESS).amount == 5


def _body(page: str) -> str:
    """The page without its CSRF tokens, which differ per response."""
    return re.sub(r'value="[^"]*"', "", page)


async def test_a_post_without_the_csrf_token_is_refused(deps: WebDeps, web_url: str) -> None:
    form = await signed_up(deps, web_url)
    async with client_as(web_url) as client:
        await client.get("/sign-in")
        answer = await client.post("/sign-in", data={"email": form["email"], "password": PASSWORD})
    assert answer.status_code == 403
    assert "CSRF" in answer.text


async def user_id_of(deps: WebDeps, email: str) -> UUID:
    user_id: UUID = await deps.store._pool.fetchval(
        "SELECT id FROM employer_users WHERE email = $1", email
    )
    return user_id
