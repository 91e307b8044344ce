"""RFC 9457 problem details: every refusal code mapped once to a status and a problem type."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode

PROBLEM_JSON = "application/problem+json"

STATUS_OF = {
    RefusalCode.INVALID_FIELD: 422,
    RefusalCode.UNKNOWN_QUALIFICATION: 422,
    RefusalCode.WITHDRAWN_QUALIFICATION: 422,
    RefusalCode.BODY_DOES_NOT_AWARD: 422,
    RefusalCode.DATE_IN_FUTURE: 422,
    RefusalCode.CERTIFICATE_EXPIRED: 422,
    RefusalCode.MISSING_CHANNEL_FIELD: 422,
    RefusalCode.CONSENT_REQUIRED: 422,
    RefusalCode.NOT_FOUND: 404,
    RefusalCode.UNAUTHENTICATED: 401,
    RefusalCode.IDEMPOTENCY_KEY_REUSED: 409,
    RefusalCode.MALFORMED_BATCH: 400,
    RefusalCode.BATCH_TOO_LARGE: 413,
    RefusalCode.UNSUPPORTED_MEDIA_TYPE: 415,
    RefusalCode.INVALID_CURSOR: 400,
    RefusalCode.FORBIDDEN_WEBHOOK_URL: 422,
    RefusalCode.MALFORMED_JSON: 400,
    RefusalCode.METHOD_NOT_ALLOWED: 405,
    RefusalCode.INTERNAL_ERROR: 500,
    RefusalCode.SERVICE_UNAVAILABLE: 503,
    RefusalCode.EMPLOYER_NOT_PENDING: 409,
}


def problem_type(code: RefusalCode) -> str:
    return f"/problems/{code.value}"


def problem_response(
    refusal: Refusal,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body = problem_body(refusal, instance) | dict(extensions or {})
    status = body["status"]
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_body(refusal: Refusal, instance: str) -> dict[str, Any]:
    status = STATUS_OF[refusal.code]
    return {
        "type": problem_type(refusal.code),
        "title": refusal.title_en,
        "status": status,
        "detail": _detail(refusal),
        "instance": instance,
        "code": refusal.code.value,
        "message": {"zh": refusal.title_zh, "en": refusal.title_en},
        "errors": [_field(p) for p in refusal.problems],
    }


def _detail(refusal: Refusal) -> str:
    if not refusal.problems:
        return refusal.title_en
    return "; ".join(f"{p.pointer}: {p.detail_en}" for p in refusal.problems)


def _field(problem: FieldProblem) -> dict[str, Any]:
    return {
        "pointer": problem.pointer,
        "detail": problem.detail_en,
        "message": {"zh": problem.detail_zh, "en": problem.detail_en},
    }


async def refusal_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    return problem_response(exc, request.url.path)


def invalid_fields(errors: Sequence[Any]) -> Refusal:
    """A refusal naming each field pydantic rejected."""
    return Refusal(
        RefusalCode.INVALID_FIELD,
        "请求数据不完整或格式错误",
        "The request is incomplete or malformed",
        [_from_pydantic(error) for error in errors],
    )


def _visible(name: str) -> str:
    """A field name as a reader can see it, and PostgreSQL can store it (no NUL)."""
    return _CONTROL.sub(lambda c: f"\\u{ord(c.group()):04x}", name)


# Control characters, and lone surrogates that no UTF-8 answer could carry.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _from_pydantic(error: Any) -> FieldProblem:
    location = [str(part) for part in error.get("loc", ())]
    if location and location[0] in {"body", "query", "path", "header"}:
        location = location[1:]
    pointer = "/" + "/".join(_visible(p.replace("~", "~0").replace("/", "~1")) for p in location)
    kind = error.get("type", "")
    zh = "缺少必填字段" if kind == "missing" else "字段格式错误"
    return FieldProblem(pointer, zh, error.get("msg", "invalid"))
