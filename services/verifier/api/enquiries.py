"""HTTP routes by which a parked request's answer arrives: the body's signed callback, or an
operator who telephoned the body entering the answer with an operator token."""

import logging
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.verifier.api.problems import operator_refused
from services.verifier.api.problems import problem as _problem
from services.verifier.channels.enquiry import (
    SIGNATURE_HEADER,
    EnquiryAnswer,
    answer_of,
    split_reference,
    valid_signature,
)
from services.verifier.domain.verdicts import BodyAnswer

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

AnswerSink = Callable[[str, BodyAnswer], Awaitable[bool]]
"""Stores an answer for an enquiry reference and resumes its request; False if unknown."""


def enquiry_routes(sink: AnswerSink, callback_secret: str, operator_token: str) -> list[Route]:
    async def body_answer(request: Request) -> Response:
        raw = await request.body()
        if not valid_signature(callback_secret, raw, request.headers.get(SIGNATURE_HEADER, "")):
            return _problem(401, "bad-signature", "Invalid callback signature", "回调签名无效")
        return await _accept(request, raw, "body callback")

    async def operator_answer(request: Request) -> Response:
        if (refused := operator_refused(request, operator_token)) is not None:
            return refused
        return await _accept(request, await request.body(), "operator")

    async def _accept(request: Request, raw: bytes, via: str) -> Response:
        reference = request.path_params["reference"]
        parsed = split_reference(reference)
        if parsed is None:
            return _problem(404, "not-found", "Unknown enquiry", "查询不存在")
        if len(raw) > MAX_BODY_BYTES:
            return _problem(413, "too-large", "Answer too large", "答复过大")
        try:
            answer = EnquiryAnswer.model_validate_json(raw)
        except ValidationError:
            return _problem(400, "malformed-answer", "Malformed answer", "答复格式错误")
        if not await sink(reference, answer_of(parsed[1], answer, raw, via)):
            return _problem(404, "not-found", "Unknown enquiry", "查询不存在")
        log.info("enquiry answered", extra={"via": via, "request_id": str(parsed[0])})
        return JSONResponse({"reference": reference, "status": "recorded"})

    return [
        Route("/v1/enquiries/{reference}/answer", body_answer, methods=["POST"]),
        Route("/v1/enquiries/{reference}/operator-answer", operator_answer, methods=["POST"]),
    ]
