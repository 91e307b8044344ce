"""An employer's users and their roles (admins only)."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.intake.domain.accounts import Role, WebUser
from services.intake.usecases.managing_users import (
    Done,
    LastAdmin,
    NoSuchUser,
    change_role,
    disable,
    invite,
    role_or_none,
)
from services.intake.web.accounts import account_links, text
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, require_admin

NOTICES = {
    "invited": ("The invitation is sent.", "邀请已发送。"),
    "role": ("The role is changed.", "角色已更改。"),
    "disabled": ("The user is disabled and signed out.", "该用户已停用并已退出登录。"),
}


def routes(deps: WebDeps) -> list[BaseRoute]:
    links = account_links(deps)

    async def page(
        request: Request,
        admin: WebUser,
        status: int = 200,
        **context: Any,
    ) -> Response:
        users = await deps.accounts.users_of(admin.employer_id)
        notice = NOTICES.get(request.query_params.get("done", ""))
        full = {
            "users": users,
            "roles": list(Role),
            "notice": notice,
            "now": datetime.now(UTC),
            "errors": {},
            "form": {},
        }
        return render(request, "users_list.html", full | context, status_code=status)

    async def users(request: Request) -> Response:
        return await page(request, require_admin(request))

    async def invite_user(request: Request) -> Response:
        admin = require_admin(request)
        form = await request.form()
        values = {name: text(form, name) for name in ("email", "name", "role")}
        outcome = await invite(links, admin, values["email"], values["name"], values["role"])
        if isinstance(outcome, dict):
            return await page(request, admin, 400, errors=outcome, form=values)
        return RedirectResponse("/users?done=invited", status_code=303)

    async def set_role(request: Request) -> Response:
        admin = require_admin(request)
        form = await request.form()
        role = role_or_none(text(form, "role"))
        if role is None:
            raise HTTPException(400, "unknown-role")
        outcome = await change_role(links, admin, _user_id(request), role)
        return await _after(request, admin, outcome, "role")

    async def disable_user(request: Request) -> Response:
        admin = require_admin(request)
        outcome = await disable(links, admin, _user_id(request))
        return await _after(request, admin, outcome, "disabled")

    async def _after(
        request: Request, admin: WebUser, outcome: Done | NoSuchUser | LastAdmin, done: str
    ) -> Response:
        if isinstance(outcome, NoSuchUser):
            raise HTTPException(404, "no-such-user")
        if isinstance(outcome, LastAdmin):
            return await page(request, admin, 409, last_admin=True)
        return RedirectResponse(f"/users?done={done}", status_code=303)

    return [
        Route("/users", users, methods=["GET"]),
        Route("/users/invite", invite_user, methods=["POST"]),
        Route("/users/{user_id}/role", set_role, methods=["POST"]),
        Route("/users/{user_id}/disable", disable_user, methods=["POST"]),
    ]


def _user_id(request: Request) -> UUID:
    try:
        return UUID(request.path_params["user_id"])
    except ValueError:
        raise HTTPException(404, "no-such-user") from None
