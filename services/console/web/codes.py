"""The Codes section: look up a code, read the trail of access to it, revoke it (operators)."""

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.regions import REGION_NAMES
from services.console.domain.registry import (
    RegistryForbidden,
    RegistryInvalid,
    RegistryNotFound,
    RegistryProblem,
)
from services.console.usecases.codes import CodeDesk
from services.console.web.deps import Deps
from services.console.web.pages import operator_of, render, require_operator_role

NOT_CONFIGURED = RegistryProblem(
    "The registry is not configured for this console", "本控制台未配置注册中心"
)
NO_CONFIRMATION = RegistryInvalid(
    "Tick the confirmation box to revoke the code", "请勾选确认框后再撤销核验码"
)


def status_of(problem: RegistryProblem) -> int:
    if isinstance(problem, RegistryNotFound):
        return 404
    if isinstance(problem, RegistryInvalid):
        return 422
    if isinstance(problem, RegistryForbidden):
        return 502
    return 503


def routes(deps: Deps) -> list[BaseRoute]:
    desk = CodeDesk(deps.registry, deps.audit) if deps.registry is not None else None

    async def page(request: Request) -> Response:
        code = request.query_params.get("code", "").strip()
        context: dict[str, Any] = {
            "code": code,
            "done": request.query_params.get("done"),
            "regions": REGION_NAMES,
        }
        if desk is None:
            return render(request, "codes.html", context | {"error": NOT_CONFIGURED}, 503)
        if not code:
            return render(request, "codes.html", context)
        try:
            view = await desk.look_up(operator_of(request).username, code)
        except RegistryProblem as problem:
            return render(request, "codes.html", context | {"error": problem}, status_of(problem))
        return render(request, "codes.html", context | {"view": view, "code": view.record.code})

    async def trail(request: Request) -> Response:
        """The trail alone: a live fragment for htmx, or a page of older entries."""
        code = request.query_params.get("code", "").strip()
        cursor = request.query_params.get("cursor") or None
        fragment = bool(request.headers.get("hx-request"))
        template = "_code_trail.html" if fragment else "code_trail.html"
        context: dict[str, Any] = {"code": code, "cursor": cursor}
        if desk is None:
            return render(request, template, context | {"trail_error": NOT_CONFIGURED}, 503)
        try:
            found = await desk.trail(code, cursor)
        except RegistryProblem as problem:
            context |= {"trail_error": problem}
            return render(request, template, context, status_of(problem))
        return render(request, template, context | {"trail": found})

    async def revoke(request: Request) -> Response:
        operator = require_operator_role(request)
        form = await request.form()
        code = str(form.get("code", "")).strip()
        reason = str(form.get("reason", ""))
        context: dict[str, Any] = {"code": code, "reason": reason, "regions": REGION_NAMES}
        if desk is None:
            return render(request, "codes.html", context | {"error": NOT_CONFIGURED}, 503)
        if form.get("confirm") != "yes":
            return render(request, "codes.html", context | {"error": NO_CONFIRMATION}, 422)
        try:
            revoked = await desk.revoke(operator.username, code, reason)
        except RegistryProblem as problem:
            return render(request, "codes.html", context | {"error": problem}, status_of(problem))
        query = urlencode({"code": revoked.code, "done": "revoked"})
        return RedirectResponse(f"/codes?{query}", status_code=303)

    return [
        Route("/codes", page),
        Route("/codes/trail", trail),
        Route("/codes/revoke", revoke, methods=["POST"]),
    ]
