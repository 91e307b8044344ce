"""Query parameters the contract does not name are refused (422), not ignored: a mistyped
filter (`?stauts=failed`) would otherwise answer an unfiltered list as if it were filtered.

What an operation accepts is read from the served OpenAPI document, so the two cannot differ.
Requests without a query string, the common case, cost nothing."""

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from services.intake.api.problems import problem_response
from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode


class UnknownQueryParameters:
    def __init__(
        self, app: ASGIApp, routes: Sequence[BaseRoute], openapi: Callable[[], dict[str, Any]]
    ):
        self._app = app
        self._routes = routes
        self._openapi = openapi
        self._known: dict[tuple[str, str], frozenset[str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            unknown = self._unknown(scope)
            if unknown:
                response = problem_response(_refusal(unknown), scope["path"])
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _unknown(self, scope: Scope) -> list[str]:
        if self._known is None:  # the document is built once, on first use
            self._known = _query_parameters(self._openapi())
        known = self._known.get((self._template(scope), scope["method"].lower()))
        if known is None:  # outside the contract (the documentation pages)
            return []
        sent = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        return sorted({name for name, _ in sent} - known)

    def _template(self, scope: Scope) -> str:
        for route in iter_route_contexts(self._routes):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route.path_format or ""
        return ""


def _query_parameters(document: dict[str, Any]) -> dict[tuple[str, str], frozenset[str]]:
    return {
        (path, method): frozenset(
            p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"
        )
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
    }


def _refusal(unknown: list[str]) -> Refusal:
    return Refusal(
        RefusalCode.INVALID_FIELD,
        "请求数据不完整或格式错误",
        "The request is incomplete or malformed",
        [
            FieldProblem(f"/{name}", "不支持的查询参数", "unknown query parameter")
            for name in unknown
        ],
    )
