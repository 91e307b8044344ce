"""The awarding-bodies section: each body's channel, breaker, recent errors and answer times
(live), the enquiries awaiting an answer with their deadlines, and the form by which an
operator enters the answer a body gave by telephone (audited)."""

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.bodies import (
    AnswerStatus,
    AnswerTime,
    BodiesError,
    EnquiryNotFound,
    InvalidAnswer,
)
from services.console.usecases.awarding_bodies import AwardingBodies, BodiesView
from services.console.web.deps import Deps
from services.console.web.i18n import language_of, pick
from services.console.web.pages import operator_of, render, require_operator_role

SPARK_WIDTH, SPARK_HEIGHT = 120, 24
ANSWER_STATUSES = [
    (AnswerStatus.CONFIRMED, "Confirmed: the body holds this certificate", "确认：机构持有该证书"),
    (AnswerStatus.NOT_FOUND, "Not found: no such certificate", "查无此证"),
    (AnswerStatus.REVOKED, "Revoked", "已撤销"),
    (AnswerStatus.EXPIRED, "Expired", "已过期"),
]


def sparkline(times: Sequence[AnswerTime]) -> str:
    """SVG polyline points of answer times, oldest on the left, scaled to the slowest."""
    if len(times) < 2:
        return ""
    ordered = sorted(times, key=lambda t: t.at)
    slowest = max(t.seconds for t in ordered) or 1.0
    step = SPARK_WIDTH / (len(ordered) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 2 - (t.seconds / slowest) * (SPARK_HEIGHT - 4):.1f}"
        for i, t in enumerate(ordered)
    )


def _context(view: BodiesView, **extra: Any) -> dict[str, Any]:
    return {
        "view": view,
        "sparklines": {b.body_id: sparkline(b.last_answers) for b in view.bodies},
        "spark": (SPARK_WIDTH, SPARK_HEIGHT),
        **extra,
    }


def routes(deps: Deps) -> list[BaseRoute]:
    section = AwardingBodies(deps.verifier, deps.audit)

    async def page(request: Request) -> Response:
        view = await section.view()
        answered = request.query_params.get("answered")
        return render(request, "bodies.html", _context(view, answered=answered))

    async def live(request: Request) -> Response:
        view = await section.view()
        status = 503 if view.error else 200
        return render(request, "bodies_live.html", _context(view), status_code=status)

    async def body(request: Request) -> Response:
        body_id = request.path_params["body_id"]
        view = await section.view(body_id)
        found = [b for b in view.bodies if b.body_id == body_id]
        if view.error is None and not found:
            return render(
                request, "bodies_body.html", _context(view, body=None, body_id=body_id), 404
            )
        context = _context(view, body=found[0] if found else None, body_id=body_id)
        return render(request, "bodies_body.html", context)

    async def answer_times(request: Request) -> Response:
        body_id = request.path_params["body_id"]
        view = await section.view(body_id)
        found = [b for b in view.bodies if b.body_id == body_id]
        if not found:
            return JSONResponse({"x": [], "series": []}, status_code=503 if view.error else 404)
        ordered = sorted(found[0].last_answers, key=lambda t: t.at)
        return JSONResponse(
            {
                "x": [t.at.timestamp() for t in ordered],
                "series": [
                    {
                        "label": pick(language_of(request), "answer s", "答复用时 秒"),
                        "values": [t.seconds for t in ordered],
                    },
                    {
                        "label": pick(language_of(request), "expected s", "预期 秒"),
                        "values": [found[0].expected_answer_seconds for _ in ordered],
                    },
                ],
            }
        )

    async def enquiry(request: Request) -> Response:
        return await _answer_page(request, section, request.path_params["reference"])

    async def answer(request: Request) -> Response:
        operator = require_operator_role(request)
        reference = request.path_params["reference"]
        form = await request.form()
        status = str(form.get("status", ""))
        name = str(form.get("registered_name", ""))
        try:
            await section.answer(operator, reference, status, name)
        except BodiesError as error:
            return await _answer_page(request, section, reference, error, status, name)
        return RedirectResponse(f"/bodies?answered={reference}", status_code=303)

    return [
        Route("/bodies", page, methods=["GET"]),
        Route("/bodies/live", live, methods=["GET"]),
        Route("/bodies/enquiries/{reference}", enquiry, methods=["GET"]),
        Route("/bodies/enquiries/{reference}/answer", answer, methods=["POST"]),
        Route("/bodies/{body_id}/answer-times.json", answer_times, methods=["GET"]),
        Route("/bodies/{body_id}", body, methods=["GET"]),
    ]


async def _answer_page(
    request: Request,
    section: AwardingBodies,
    reference: str,
    refusal: BodiesError | None = None,
    status: str = "",
    name: str = "",
) -> Response:
    """The enquiry and its answer form; with the refusal of a previous try, if any."""
    try:
        found = await section.enquiry(reference)
    except BodiesError as error:
        code = 404 if isinstance(error, EnquiryNotFound) else 503
        missing: dict[str, Any] = {"reference": reference, "enquiry": None, "error": error.message}
        return render(request, "bodies_enquiry.html", missing, status_code=code)
    context: dict[str, Any] = {
        "reference": reference,
        "enquiry": found,
        "now": section.now(),
        "error": refusal.message if refusal else None,
        "statuses": ANSWER_STATUSES,
        "chosen": status,
        "registered_name": name,
        "may_act": operator_of(request).may_act,
    }
    code = 200
    if refusal is not None:
        code = 422 if isinstance(refusal, InvalidAnswer) else 503
        if isinstance(refusal, EnquiryNotFound):
            code = 404
    return render(request, "bodies_enquiry.html", context, status_code=code)
