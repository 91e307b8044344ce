"""An employer's users through the pages: invitations, roles, disabling, the last-admin guard,
and who may see the page at all."""

import re
from urllib.parse import urlsplit
from uuid import UUID

import pytest

from services.contracts.events import AccountMail
from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.intake.web.account_mail import last_link
from tests.intake.web.support import client_as, post_form, session_for
from tests.intake.web.test_accounts import PASSWORD, enrol

pytestmark = pytest.mark.integration


async def role_of(deps: WebDeps, user_id: UUID) -> str:
    role: str = await deps.store._pool.fetchval(
        "SELECT role FROM employer_users WHERE id = $1", user_id
    )
    return role


async def test_an_invited_user_sets_a_password_signs_in_and_has_the_role_given(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    email = f"invitee.{admin.user_id.hex[:8]}@acme.example.com"
    async with client_as(web_url, admin) as client:
        refused = await post_form(
            client, "/users", "/users/invite", {"email": "nope", "name": "", "role": "viewer"}
        )
        invited = await post_form(
            client,
            "/users",
            "/users/invite",
            {"email": email, "name": "Wang Fang", "role": "viewer"},
        )
        listed = await client.get("/users")
        again = await post_form(
            client, "/users", "/users/invite", {"email": email, "name": "Again", "role": "viewer"}
        )
    assert refused.status_code == 400
    assert "电子邮箱地址无效" in refused.text
    assert invited.status_code == 303
    assert "Wang Fang" in listed.text and "已邀请" in listed.text
    assert again.status_code == 400 and "已有账号" in again.text
    link = urlsplit(await last_link(deps, email, AccountMail.INVITATION)).path
    assert link.startswith("/invitation/")
    async with client_as(web_url) as invitee:
        set_password = await post_form(
            invitee, link, link, {"password": PASSWORD, "password_confirmation": PASSWORD}
        )
        reused = await invitee.get(link)
        await enrol(invitee, email)
        home = await invitee.get("/")
        users_page = await invitee.get("/users")
    assert set_password.status_code == 303
    assert reused.status_code == 400
    assert home.status_code == 200 and "/users" not in home.text
    assert users_page.status_code == 403


async def test_roles_change_and_a_disabled_user_is_signed_out(deps: WebDeps, web_url: str) -> None:
    admin = await session_for(deps, Role.ADMIN)
    other = await session_for(deps, Role.VIEWER, employer_id=admin.employer_id)
    async with client_as(web_url, admin) as client:
        changed = await post_form(
            client, "/users", f"/users/{other.user_id}/role", {"role": "applicant"}
        )
        assert changed.status_code == 303
        assert await role_of(deps, other.user_id) == "applicant"
        async with client_as(web_url, other) as theirs:
            assert (await theirs.get("/")).status_code == 200
            disabled = await post_form(client, "/users", f"/users/{other.user_id}/disable", {})
            after = await theirs.get("/")
        listed = await client.get("/users")
    assert disabled.status_code == 303
    assert after.status_code == 303  # their session ended
    assert "已停用" in listed.text
    audit = await deps.store._pool.fetch(
        "SELECT action FROM account_audit WHERE user_id = $1 AND outcome = 'success'",
        admin.user_id,
    )
    assert {"role-changed", "user-disabled"} <= {row["action"] for row in audit}


async def test_a_disabled_invitee_cannot_use_the_invitation(deps: WebDeps, web_url: str) -> None:
    admin = await session_for(deps, Role.ADMIN)
    email = f"leaver.{admin.user_id.hex[:8]}@acme.example.com"
    async with client_as(web_url, admin) as client:
        form = {"email": email, "name": "Leaver", "role": "applicant"}
        await post_form(client, "/users", "/users/invite", form)
        invitee: UUID = await deps.store._pool.fetchval(
            "SELECT id FROM employer_users WHERE email = $1", email
        )
        await post_form(client, "/users", f"/users/{invitee}/disable", {})
    link = urlsplit(await last_link(deps, email, AccountMail.INVITATION)).path
    async with client_as(web_url) as stranger:
        shown = await stranger.get(link)
        tried = await post_form(
            stranger, "/sign-in", link, {"password": PASSWORD, "password_confirmation": PASSWORD}
        )
    assert shown.status_code == tried.status_code == 400
    password_hash = await deps.store._pool.fetchval(
        "SELECT password_hash FROM employer_users WHERE id = $1", invitee
    )
    assert password_hash is None


async def test_the_last_active_admin_can_be_neither_demoted_nor_disabled(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    second = await session_for(deps, Role.ADMIN, employer_id=admin.employer_id)
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        disabled_second = await post_form(client, "/users", f"/users/{second.user_id}/disable", {})
        demote_self = await post_form(
            client, "/users", f"/users/{admin.user_id}/role", {"role": "viewer"}
        )
        disable_self = await post_form(client, "/users", f"/users/{admin.user_id}/disable", {})
    assert disabled_second.status_code == 303  # another admin was still there
    assert demote_self.status_code == 409
    assert "at least one active admin" in demote_self.text
    assert disable_self.status_code == 409
    assert await role_of(deps, admin.user_id) == "admin"


async def test_another_employers_user_is_not_found(deps: WebDeps, web_url: str) -> None:
    admin = await session_for(deps, Role.ADMIN)
    stranger = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, admin) as client:
        role = await post_form(
            client, "/users", f"/users/{stranger.user_id}/role", {"role": "admin"}
        )
        disable = await post_form(client, "/users", f"/users/{stranger.user_id}/disable", {})
        garbage = await post_form(client, "/users", "/users/not-a-uuid/disable", {})
        listed = await client.get("/users")
    assert role.status_code == disable.status_code == garbage.status_code == 404
    assert await role_of(deps, stranger.user_id) == "applicant"
    assert stranger.email not in listed.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPLICANT])
async def test_only_admins_reach_users_and_api_keys(
    deps: WebDeps, web_url: str, role: Role
) -> None:
    user = await session_for(deps, role)
    async with client_as(web_url, user) as client:
        users = await client.get("/users")
        keys = await client.get("/api-keys")
        page = await client.get("/")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        invite = await client.post(
            "/users/invite",
            data={"csrftoken": token.group(1), "email": "x@acme.example.com", "name": "X"},
        )
        create = await client.post(
            "/api-keys/create", data={"csrftoken": token.group(1), "name": "mine"}
        )
    assert users.status_code == keys.status_code == invite.status_code == 403
    assert create.status_code == 403
    assert "您的角色无权执行此操作" in users.text
