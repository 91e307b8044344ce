"""The employers section: sign-ups waiting for approval (contacts masked), recent decisions,
one employer with its contact in full (an audited opening of personal data), and an operator's
approval or rejection with a reason (audited before the result is shown)."""

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.employers import (
    AlreadyDecided,
    EmployerNotFound,
    EmployersError,
    InvalidDecision,
)
from services.console.usecases.employers import EmployerReview
from services.console.web.deps import Deps
from services.console.web.pages import operator_of, render, require_operator_role


def _status_of(error: EmployersError) -> int:
    if isinstance(error, EmployerNotFound):
        return 404
    if isinstance(error, AlreadyDecided):
        return 409
    if isinstance(error, InvalidDecision):
        return 422
    return 503


def routes(deps: Deps) -> list[BaseRoute]:
    section = EmployerReview(deps.intake, deps.audit)

    async def page(request: Request) -> Response:
        view = await section.view()
        decided = request.query_params.get("decided")
        just_decided = next((e for e in view.decided if str(e.id) == decided), None)
        context = {"view": view, "just_decided": just_decided}
        return render(request, "employers.html", context, 503 if view.error else 200)

    async def employer(request: Request) -> Response:
        return await _employer_page(request, section, request.path_params["employer_id"])

    async def approve(request: Request) -> Response:
        operator = require_operator_role(request)
        employer_id: UUID = request.path_params["employer_id"]
        try:
            await section.approve(operator, employer_id)
        except EmployersError as error:
            return await _employer_page(request, section, employer_id, error)
        return RedirectResponse(f"/employers?decided={employer_id}", status_code=303)

    async def reject(request: Request) -> Response:
        operator = require_operator_role(request)
        employer_id: UUID = request.path_params["employer_id"]
        reason = str((await request.form()).get("reason", ""))
        try:
            await section.reject(operator, employer_id, reason)
        except EmployersError as error:
            return await _employer_page(request, section, employer_id, error, reason)
        return RedirectResponse(f"/employers?decided={employer_id}", status_code=303)

    return [
        Route("/employers", page, methods=["GET"]),
        Route("/employers/{employer_id:uuid}", employer, methods=["GET"]),
        Route("/employers/{employer_id:uuid}/approve", approve, methods=["POST"]),
        Route("/employers/{employer_id:uuid}/reject", reject, methods=["POST"]),
    ]


async def _employer_page(
    request: Request,
    section: EmployerReview,
    employer_id: UUID,
    refusal: EmployersError | None = None,
    reason: str = "",
) -> Response:
    """One employer and, while it waits, the decision forms; with a refused try's message."""
    try:
        found = await section.open(operator_of(request), employer_id)
    except EmployersError as error:
        missing: dict[str, Any] = {"employer": None, "error": error.message}
        return render(request, "employers_employer.html", missing, _status_of(error))
    context: dict[str, Any] = {
        "employer": found,
        "error": None if refusal is None else refusal.message,
        "reason": reason,
        "may_act": operator_of(request).may_act,
    }
    status = 200 if refusal is None else _status_of(refusal)
    return render(request, "employers_employer.html", context, status)
