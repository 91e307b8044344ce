"""Signing in to the console: argon2 passwords, lockout, sessions, CSRF, roles."""

import httpx
import pytest

from services.console.domain.roles import Role
from services.console.usecases.sign_in import WeakPassword, add_operator
from tests.console.conftest import OPERATOR, VIEWER, RunningConsole
from tests.console.support import csrf_token, post_form, signed_in_client

pytestmark = pytest.mark.integration


async def test_pages_need_a_session(console: RunningConsole) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        page = await client.get("/audit")
        fragment = await client.get("/audit", headers={"HX-Request": "true"})
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=/audit"
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"] == "/sign-in?next=/audit"


async def test_sign_in_opens_a_session_and_is_audited(console: RunningConsole) -> None:
    async with signed_in_client(console.url, *OPERATOR) as client:
        overview = await client.get("/")
        assert overview.status_code == 200
        assert "Alice" in overview.text
        audit = await client.get("/audit", params={"actor": OPERATOR[0]})
    assert "sign-in" in audit.text
    assert overview.headers["content-security-policy"].startswith("default-src 'self'")
    assert overview.headers["x-frame-options"] == "DENY"


async def test_wrong_password_is_refused_in_both_languages(console: RunningConsole) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        page = await client.get("/sign-in")
        form = {"csrftoken": csrf_token(page.text), "username": OPERATOR[0], "password": "nope"}
        refused = await client.post("/sign-in", data=form)
        client.cookies.set("qv_console_lang", "en")
        english = await client.post("/sign-in", data=form)
    assert refused.status_code == 401
    assert "用户名或密码错误" in refused.text
    assert "Wrong username or password" in english.text


async def test_repeated_failures_lock_the_account(console: RunningConsole) -> None:
    await add_operator(
        console.deps.accounts, "mallory", "Mallory", Role.OPERATOR, "mallory's long password"
    )
    async with httpx.AsyncClient(base_url=console.url) as client:
        page = await client.get("/sign-in")
        token = csrf_token(page.text)
        for _ in range(5):
            await client.post(
                "/sign-in", data={"csrftoken": token, "username": "mallory", "password": "x"}
            )
        right = {"csrftoken": token, "username": "mallory", "password": "mallory's long password"}
        locked = await client.post("/sign-in", data=right)
    assert locked.status_code == 401
    assert "锁定" in locked.text
    account = await console.deps.accounts.account("mallory")
    assert account is not None and account.locked_until is not None


async def test_a_post_without_the_csrf_token_is_refused(console: RunningConsole) -> None:
    async with signed_in_client(console.url, *OPERATOR) as client:
        refused = await client.post("/sign-out", data={})
        still_in = await client.get("/")
    assert refused.status_code == 403
    assert "CSRF" in refused.text and "跨站请求伪造" in refused.text
    assert still_in.status_code == 200


async def test_sign_out_ends_the_session_on_the_server(console: RunningConsole) -> None:
    async with signed_in_client(console.url, *VIEWER) as client:
        cookie = client.cookies.get("qv_console_session")
        out = await post_form(client, "/", "/sign-out", {})
        assert out.status_code == 303
    async with httpx.AsyncClient(base_url=console.url) as replay:
        replay.cookies.set("qv_console_session", cookie or "")
        again = await replay.get("/")
    assert again.status_code == 303  # the old cookie no longer opens anything


async def test_sign_in_never_redirects_off_the_console(console: RunningConsole) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        page = await client.get("/sign-in")
        form = {
            "csrftoken": csrf_token(page.text),
            "username": OPERATOR[0],
            "password": OPERATOR[1],
            "next": "//evil.example/",
        }
        answer = await client.post("/sign-in", data=form)
    assert answer.headers["location"] == "/"


async def test_short_passwords_are_refused(console: RunningConsole) -> None:
    with pytest.raises(WeakPassword):
        await add_operator(console.deps.accounts, "bob", "Bob", Role.VIEWER, "short")
