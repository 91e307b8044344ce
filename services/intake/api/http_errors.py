"""Errors that arise outside intake's own code, answered as problem details too: bodies that do
not parse (FastAPI would answer in English only, or with a character offset as a pointer),
routes and methods that do not exist, and anything unexpected."""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.api.problems import (
    PROBLEM_JSON,
    invalid_fields,
    problem_response,
    refusal_handler,
)
from services.intake.domain.errors import Refusal, RefusalCode, not_found
from services.runtime.observability import RETRY_AFTER_SECONDS, error_site
from services.runtime.resilience import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)


_MALFORMED_ZH = "请求体不是有效的 JSON"
_MALFORMED_EN = "The request body is not valid JSON"


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Refusal, refusal_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(HTTPException, http_error_handler)
    app.add_middleware(UnexpectedErrors)
    for unreachable in DATABASE_UNREACHABLE:
        app.add_exception_handler(unreachable, unavailable_handler)


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    syntax = next((error for error in errors if error.get("type") == "json_invalid"), None)
    if syntax is not None and isinstance(exc.body, str):
        reason = str(syntax.get("ctx", {}).get("error", "invalid JSON"))
        return _malformed_at(request, exc.body, int(syntax["loc"][-1]), reason)
    return problem_response(invalid_fields(errors), request.url.path)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    instance = request.url.path
    if exc.status_code == HTTPStatus.BAD_REQUEST:
        return _unparsable_body(request, exc.__cause__)
    if exc.status_code == HTTPStatus.NOT_FOUND:
        return problem_response(not_found("未找到该资源", "No such resource"), instance)
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        refusal = Refusal(
            RefusalCode.METHOD_NOT_ALLOWED,
            "该资源不支持此请求方法",
            "The resource does not support this method",
        )
        return problem_response(refusal, instance, headers={"Allow": _allowed_methods(request)})
    return _plain_status(exc.status_code, instance, exc.headers)


class UnexpectedErrors:
    """Any other exception: a 500 problem, logged by class and place only, since its message
    may quote personal data or a key from the request (Starlette would log it whole)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, watched)
        except Exception as error:
            log.error("unexpected error", extra=error_site(error) | {"path": scope["path"]})
            if started:  # too late for an answer of ours: the connection is cut
                return
            refusal = Refusal(
                RefusalCode.INTERNAL_ERROR,
                "服务内部错误，请稍后重试",
                "Internal error; try again later",
            )
            await problem_response(refusal, scope["path"])(scope, receive, send)


async def unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL is away (restarting, unreachable): the client should simply retry."""
    log.warning("database unavailable", extra={"error": type(exc).__name__})
    refusal = Refusal(
        RefusalCode.SERVICE_UNAVAILABLE,
        "服务暂时不可用，请稍后重试",
        "The service is temporarily unavailable; try again shortly",
    )
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return problem_response(refusal, request.url.path, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of every route of this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _unparsable_body(request: Request, cause: BaseException | None) -> JSONResponse:
    if isinstance(cause, UnicodeDecodeError):
        where = cause.object[: cause.start].decode("latin-1")
        return _malformed_at(request, where, len(where), "not UTF-8", "不是 UTF-8 编码")
    if isinstance(cause, RecursionError):
        return _malformed(request, "nested too deeply", "嵌套层次过深")
    return _malformed(request, "cannot be parsed", "无法解析")


def _malformed_at(
    request: Request,
    document: str,
    offset: int,
    reason_en: str,
    reason_zh: str = "语法错误",
) -> JSONResponse:
    line = document.count("\n", 0, offset) + 1
    column = offset - document.rfind("\n", 0, offset)
    return _malformed(
        request,
        f"{reason_en} at line {line}, column {column}",
        f"{reason_zh}（第 {line} 行第 {column} 列）",
        {"line": line, "column": column},
    )


def _malformed(
    request: Request,
    reason_en: str,
    reason_zh: str,
    position: Mapping[str, int] | None = None,
) -> JSONResponse:
    refusal = Refusal(RefusalCode.MALFORMED_JSON, _MALFORMED_ZH, _MALFORMED_EN)
    extensions: dict[str, Any] = {
        "detail": f"{_MALFORMED_EN}: {reason_en}",
        "message": {"zh": f"{_MALFORMED_ZH}：{reason_zh}", "en": f"{_MALFORMED_EN}: {reason_en}"},
        **(position or {}),
    }
    return problem_response(refusal, request.url.path, extensions=extensions)


def _plain_status(status: int, instance: str, headers: Mapping[str, str] | None) -> JSONResponse:
    """A status with no meaning of ours beyond HTTP's (RFC 9457 `about:blank`)."""
    phrase = HTTPStatus(status).phrase
    body = {
        "type": "about:blank",
        "title": phrase,
        "status": status,
        "detail": phrase,
        "instance": instance,
        "code": f"http-{status}",
        "message": {"zh": "请求无法处理", "en": phrase},
        "errors": [],
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
