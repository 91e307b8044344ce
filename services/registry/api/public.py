"""The public HTTP face of the registry: anyone may check a code; statements' keys and the
revocation status list are published for offline verifiers.

`GET /v1/codes/{code}` answers valid / revoked / unknown with the qualification, the awarding
bodies, the date verified and the holder's name masked, nothing more. It is rate-limited per
client address so codes cannot be enumerated, and every lookup is written to the audit log.
The budget is counted in PostgreSQL (store/check_budget.py), so it holds across replicas.

`GET /check` is the same check as a page for people (便民服务, api/check_page.py), and
`GET /v1/codes/{code}/statement` downloads the code's signed statement for offline
verification. Both draw on the same per-client budget as the JSON check and are audited alike.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from limits import parse
from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from services.reference.catalogue.model import Catalogue, UnknownQualificationError
from services.registry.api.check_page import CheckPages, found, static_files, unknown, wants_html
from services.registry.domain.codes import VerificationCode, mask_name, parse_code
from services.registry.domain.errors import RegistryError
from services.registry.domain.statements import (
    JOSE_TYPE,
    STATUS_LIST_ID,
    Issuer,
    status_list_claims,
)
from services.registry.domain.verifications import Verification
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.check_budget import CheckBudget
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.runtime.observability import RETRY_AFTER_SECONDS, database_away
from services.runtime.resilience import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PUBLIC_CHECKS = Counter("registry_public_checks_total", "Public code checks", ["outcome"])

Endpoint = Callable[[Request], Awaitable[Response]]
Refusal = Callable[[Request, int], Response]  # the answer once the budget is spent


class PublicApi:
    def __init__(
        self,
        *,
        codes: CodeRepository,
        catalogue: CatalogueStore,
        audit: AuditLog,
        keys: SigningKeys,
        pool: asyncpg.Pool,
        issuer: Issuer,
        rate_limit: str,
        address_key: bytes,
    ) -> None:
        """`rate_limit` in `limits` notation ("30/minute"), per client address; clients are
        counted under an HMAC of their address with `address_key` (check_budget.address_key)."""
        self._codes = codes
        self._catalogue = catalogue
        self._audit = audit
        self._keys = keys
        self._pool = pool
        self._issuer = issuer
        self._budget = CheckBudget(pool, parse(rate_limit), address_key)
        self._pages = CheckPages(issuer.id)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/codes/{code}", self._rate_limited(self.check_code, _limited_problem)),
                Route(
                    "/v1/codes/{code}/statement",
                    self._rate_limited(self.statement, self._limited_statement),
                ),
                Route("/check", self._rate_limited(self.check_page, self._pages.limited)),
                Route("/", _to_check_page),
                Mount("/static", static_files()),
                Route("/.well-known/jwks.json", self.jwks),
                Route(f"/v1/status-lists/{STATUS_LIST_ID}", self.status_list),
            ],
            exception_handlers=dict.fromkeys(DATABASE_UNREACHABLE, self._database_away),
        )

    async def _database_away(self, request: Request, error: Exception) -> Response:
        if request.url.path == "/check" or wants_html(request):
            return self._pages.unavailable(request, RETRY_AFTER_SECONDS)
        return await database_away(request, error)

    def _rate_limited(self, endpoint: Endpoint, refuse: Refusal) -> Endpoint:
        """One budget per client for every way of looking a code up: JSON, page, statement."""

        async def limited(request: Request) -> Response:
            spent = await self._budget.spend(_client_address(request))
            if spent.admitted:
                return await endpoint(request)
            PUBLIC_CHECKS.labels("rate_limited").inc()
            return refuse(request, spent.retry_after_seconds)

        return limited

    async def _look_up(
        self, request: Request, code: VerificationCode, action: str
    ) -> Verification | None:
        """The record of a well-formed code, the lookup audited and counted."""
        verification = await self._codes.by_code(code)
        await self._audit.record(
            actor="public",
            peer=_client_address(request),
            action=action,
            outcome="found" if verification else "unknown",
            code=str(code),
        )
        PUBLIC_CHECKS.labels(verification.status.value if verification else "unknown").inc()
        return verification

    async def check_page(self, request: Request) -> Response:
        typed = request.query_params.get("code", "")
        if not typed.strip():
            return self._pages.check(request, typed=typed)
        try:
            code = parse_code(typed)
        except RegistryError as error:
            PUBLIC_CHECKS.labels(error.code.value).inc()
            return self._pages.check(request, typed=typed, error=error, status_code=400)
        verification = await self._look_up(request, code, "PublicCheckPage")
        if verification is None:
            return self._pages.check(
                request, typed=typed, result=unknown(str(code)), status_code=404
            )
        result = found(verification, await self._catalogue.current())
        return self._pages.check(request, typed=typed, result=result)

    async def statement(self, request: Request) -> Response:
        """The compact JWS the registry signed when it issued the code, as a file."""
        try:
            code = parse_code(request.path_params["code"])
        except RegistryError as error:
            PUBLIC_CHECKS.labels(error.code.value).inc()
            return _problem(400, error.code.value, error.message_en, error.message_zh, request)
        verification = await self._look_up(request, code, "PublicStatement")
        if verification is None or verification.statement is None:
            return _unknown_code(request, code)
        return Response(
            verification.statement,
            media_type=f"application/{JOSE_TYPE}",
            headers={
                "Content-Disposition": f'attachment; filename="{code}.jwt"',
                "Cache-Control": "no-store",
            },
        )

    def _limited_statement(self, request: Request, retry_after: int) -> Response:
        if wants_html(request):
            return self._pages.limited(request, retry_after)
        return _limited_problem(request, retry_after)

    async def check_code(self, request: Request) -> Response:
        typed = request.path_params["code"]
        try:
            code = parse_code(typed)
        except RegistryError as error:
            PUBLIC_CHECKS.labels(error.code.value).inc()
            return _problem(400, error.code.value, error.message_en, error.message_zh, request)
        verification = await self._look_up(request, code, "PublicCheck")
        if verification is None:
            return _unknown_code(request, code)
        answer = _public_answer(verification, await self._catalogue.current())
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def jwks(self, _: Request) -> Response:
        return JSONResponse(
            await self._keys.jwks(),
            media_type="application/jwk-set+json",
            headers={"Cache-Control": "max-age=300"},
        )

    async def status_list(self, _: Request) -> Response:
        claims = status_list_claims(
            await self._codes.revoked_indexes(), self._issuer, datetime.now(UTC)
        )
        async with self._pool.acquire() as conn:
            token = await self._keys.sign(conn, claims)
        return Response(
            token, media_type=f"application/{JOSE_TYPE}", headers={"Cache-Control": "max-age=60"}
        )


def _public_answer(verification: Verification, catalogue: Catalogue) -> dict[str, Any]:
    try:
        name = catalogue.qualification(verification.qualification_id).name
    except UnknownQualificationError:
        name = None
    bodies: list[dict[str, str | None]] = []
    for body_id in verification.body_ids:
        try:
            bodies.append({"id": body_id, "name": catalogue.body(body_id).name})
        except KeyError:
            bodies.append({"id": body_id, "name": None})
    answer: dict[str, Any] = {
        "code": str(verification.code),
        "status": verification.status.value,
        "qualification": {"id": verification.qualification_id, "name": name},
        "awarding_bodies": bodies,
        "verified_on": verification.verified_at.date().isoformat(),
        "holder_name_masked": mask_name(verification.holder_name),
    }
    if verification.revocation_reason is not None:
        answer["revocation_reason"] = verification.revocation_reason
    return answer


def _unknown_code(request: Request, code: VerificationCode) -> Response:
    return _problem(
        404,
        "unknown-code",
        "No verification code like this was issued",
        "未签发过该核验码",
        request,
        extra={"code": str(code), "status": "unknown"},
    )


def _limited_problem(request: Request, retry_after: int) -> Response:
    return _problem(
        429,
        "rate-limited",
        "Too many checks from this address; try again later",
        "查询过于频繁，请稍后再试",
        request,
        headers={"Retry-After": str(retry_after)},
    )


async def _to_check_page(_: Request) -> Response:
    return RedirectResponse("/check", status_code=303)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _problem(
    status: int,
    code: str,
    title_en: str,
    title_zh: str,
    request: Request,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body = {
        "type": f"/problems/{code}",
        "title": title_en,
        "status": status,
        "detail": f"{title_en} / {title_zh}",
        "instance": request.url.path,
        "code": code,
        "message": {"zh": title_zh, "en": title_en},
        **(extra or {}),
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
