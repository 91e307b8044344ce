"""The catalogue watch section (section 五 of the notice): per qualification its requests,
authentic rate and regions; the dormant ones flagged; withdrawals past and scheduled; and the
Withdraw action (role operator, a date and a reason, confirmed) through the registry, audited."""

from datetime import date
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.catalogue_watch import CatalogueWatch
from services.console.domain.registry import (
    MAX_REASON,
    RegistryInvalid,
    RegistryNotFound,
    RegistryProblem,
)
from services.console.usecases.catalogue_watch import CatalogueWatchUse
from services.console.web.deps import Deps
from services.console.web.pages import render, require_operator_role

REGIONS = ("beijing", "tianjin", "hebei")
REGION_NAMES = {
    "beijing": ("Beijing", "北京"),
    "tianjin": ("Tianjin", "天津"),
    "hebei": ("Hebei", "河北"),
}
SHOWN = {"all", "dormant", "withdrawn"}


class WithdrawalForm:
    """What the operator typed, and what is wrong with it (in both languages)."""

    def __init__(self, on: str = "", reason: str = "", confirmed: bool = False) -> None:
        self.on = on
        self.reason = reason
        self.confirmed = confirmed

    def problems(self) -> list[tuple[str, str]]:
        found = []
        if self.on:
            try:
                date.fromisoformat(self.on)
            except ValueError:
                found.append(("The date must read YYYY-MM-DD.", "日期格式须为 YYYY-MM-DD。"))
        if not self.reason.strip():
            found.append(("A reason is required.", "必须填写原因。"))
        elif len(" ".join(self.reason.split())) > MAX_REASON:
            found.append(
                (
                    f"The reason is longer than {MAX_REASON} characters.",
                    f"原因超过 {MAX_REASON} 个字符。",
                )
            )
        if not self.confirmed:
            found.append(("Tick the box to confirm the withdrawal.", "请勾选以确认撤出。"))
        return found

    @property
    def day(self) -> date | None:
        return date.fromisoformat(self.on) if self.on else None


def routes(deps: Deps) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return await _watch_page(request, deps, "catalogue.html")

    async def live(request: Request) -> Response:
        return await _watch_page(request, deps, "catalogue_live.html")

    async def withdraw_form(request: Request) -> Response:
        qualification_id = request.path_params["qualification_id"]
        return await _form_page(request, deps, qualification_id, WithdrawalForm())

    async def withdraw(request: Request) -> Response:
        operator = require_operator_role(request)
        qualification_id = request.path_params["qualification_id"]
        form = await request.form()
        typed = WithdrawalForm(
            str(form.get("withdrawn_on", "")).strip(),
            str(form.get("reason", "")),
            form.get("confirm") == "yes",
        )
        if problems := typed.problems():
            return await _form_page(request, deps, qualification_id, typed, problems, 422)
        try:
            await _use(deps).withdraw(operator, qualification_id, typed.day, typed.reason)
        except RegistryProblem as problem:
            status = _status_of(problem)
            message = [(problem.message_en, problem.message_zh)]
            return await _form_page(request, deps, qualification_id, typed, message, status)
        return RedirectResponse(f"/catalogue?withdrawn={qualification_id}", status_code=303)

    return [
        Route("/catalogue", page, methods=["GET"]),
        Route("/catalogue/live", live, methods=["GET"]),
        Route("/catalogue/{qualification_id}/withdraw", withdraw_form, methods=["GET"]),
        Route("/catalogue/{qualification_id}/withdraw", withdraw, methods=["POST"]),
    ]


def _use(deps: Deps) -> CatalogueWatchUse:
    if deps.catalogue_watch is None:
        raise HTTPException(503, "catalogue watch not available")
    return deps.catalogue_watch


def _status_of(problem: RegistryProblem) -> int:
    if isinstance(problem, RegistryNotFound):
        return 404
    if isinstance(problem, RegistryInvalid):
        return 422
    return 503


def _shown(request: Request) -> str:
    shown = request.query_params.get("show", "all")
    if shown not in SHOWN:
        raise HTTPException(400, "show must be all, dormant or withdrawn / show 取值有误")
    return shown


async def _watch_page(request: Request, deps: Deps, template: str) -> Response:
    shown = _shown(request)
    context: dict[str, Any] = {
        "watch": None,
        "error": None,
        "shown": shown,
        "regions": REGIONS,
        "region_names": REGION_NAMES,
        "withdrawn": request.query_params.get("withdrawn"),
        "dormant_months": deps.settings.dormant_months,
    }
    if deps.catalogue_watch is None:
        context["error"] = ("The catalogue watch is not available here.", "此处不提供目录监测。")
        return render(request, template, context, status_code=503)
    try:
        watch = await deps.catalogue_watch.view()
    except RegistryProblem as problem:
        context["error"] = (problem.message_en, problem.message_zh)
        return render(request, template, context, status_code=_status_of(problem))
    context.update(watch=watch, rows=_rows(watch, shown))
    return render(request, template, context)


def _rows(watch: CatalogueWatch, shown: str) -> list[Any]:
    if shown == "dormant":
        return watch.dormant
    if shown == "withdrawn":
        return [q for q in watch.qualifications if q.withdrawal is not None]
    return watch.qualifications


async def _form_page(
    request: Request,
    deps: Deps,
    qualification_id: str,
    typed: WithdrawalForm,
    problems: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "qualification_id": qualification_id,
        "qualification": None,
        "typed": typed,
        "problems": problems or [],
        "error": None,
    }
    try:
        watch = await _use(deps).view()
    except RegistryProblem as problem:
        context["error"] = (problem.message_en, problem.message_zh)
        return render(request, "catalogue_withdraw.html", context, status_code=503)
    found = [q for q in watch.qualifications if q.qualification_id == qualification_id]
    if not found:
        raise HTTPException(404, f"qualification {qualification_id}")
    context["qualification"] = found[0]
    context["today"] = watch.today
    return render(request, "catalogue_withdraw.html", context, status_code=status_code)
