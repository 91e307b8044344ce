"""HTTP routes of intake: the only module that knows HTTP exists."""

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Response
from fastapi.exceptions import RequestValidationError

from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.intake.api.problems import PROBLEM_JSON, refusal_handler, validation_handler
from services.intake.api.schemas import (
    VerificationIn,
    VerificationOut,
    VerificationPage,
    WebhookOut,
    WebhooksIn,
    WebhooksOut,
)
from services.intake.domain.applications import (
    Application,
    CatalogueView,
    Certificate,
    Holder,
    check_eligibility,
)
from services.intake.domain.errors import Refusal, RefusalCode, not_found
from services.intake.domain.lifecycle import Status, estimate_completion
from services.intake.store.repository import IntakeStore, RequestRecord
from services.runtime.observability import HealthCheck, ops_routes, request_id_var
from services.runtime.tracing import child_traceparent


@dataclass(frozen=True)
class IntakeContext:
    store: IntakeStore
    catalogue: CatalogueView
    holder_ref_key: bytes
    turnaround: timedelta


class _ApiKeyCache:
    """Remembers verified API keys briefly so each request does not cost a database read."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[UUID, float]] = {}

    def get(self, api_key: str) -> UUID | None:
        entry = self._entries.get(api_key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, api_key: str, employer_id: UUID) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[api_key] = (employer_id, time.monotonic() + self._ttl)


_UNAUTHENTICATED = Refusal(
    RefusalCode.UNAUTHENTICATED,
    "缺少或无效的 API 密钥",
    "Missing or invalid API key",
)


def create_app(context: IntakeContext, health: dict[str, HealthCheck]) -> FastAPI:
    app = FastAPI(
        title="Qualification verification — intake",
        version="1.0.0",
        description=(
            "Employer-facing API of the Beijing–Tianjin–Hebei verification platform for the "
            "International Professional Qualification Recognition Catalogue (2025 Edition)."
        ),
    )
    app.add_exception_handler(Refusal, refusal_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.include_router(_verification_routes(context))
    app.router.routes.extend(ops_routes(health))
    return app


def _verification_routes(context: IntakeContext) -> APIRouter:
    router = APIRouter(prefix="/v1")
    keys = _ApiKeyCache()

    async def employer(authorization: Annotated[str | None, Header()] = None) -> UUID:
        if not authorization or not authorization.startswith("Bearer "):
            raise _UNAUTHENTICATED
        api_key = authorization.removeprefix("Bearer ").strip()
        employer_id = keys.get(api_key) or await context.store.authenticate(api_key)
        if employer_id is None:
            raise _UNAUTHENTICATED
        keys.put(api_key, employer_id)
        return employer_id

    Employer = Annotated[UUID, Depends(employer)]
    problem = {"content": {PROBLEM_JSON: {}}, "description": "Problem details (RFC 9457)"}

    @router.post(
        "/verifications",
        status_code=202,
        response_model=VerificationOut,
        responses={
            200: {"description": "Already in flight"},
            401: problem,
            409: problem,
            422: problem,
        },
    )
    async def apply(
        body: VerificationIn,
        response: Response,
        employer_id: Employer,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
        traceparent: Annotated[str | None, Header()] = None,
    ) -> VerificationOut:
        application = _application(body)
        facts = check_eligibility(application, context.catalogue, datetime.now(UTC).date())
        event = _requested_event(body, employer_id, facts.body_ids, context.holder_ref_key)
        request_id_var.set(str(event.request_id))
        accepted_at = datetime.now(UTC)
        idempotency = None
        if idempotency_key is not None:
            digest = hashlib.sha256(body.model_dump_json().encode()).digest()
            idempotency = (idempotency_key, digest)
        submission = await context.store.submit(
            event,
            accepted_at,
            estimate_completion(accepted_at, [context.turnaround for _ in event.body_ids]),
            idempotency,
            child_traceparent(traceparent),
        )
        response.status_code = 202 if submission.created else 200
        response.headers["Location"] = f"/v1/verifications/{submission.record.id}"
        return _out(submission.record)

    @router.get(
        "/verifications/{request_id}", response_model=VerificationOut, responses={404: problem}
    )
    async def read(request_id: UUID, employer_id: Employer) -> VerificationOut:
        record = await context.store.get(employer_id, request_id)
        if record is None:
            raise not_found()
        return _out(record)

    @router.get("/verifications", response_model=VerificationPage)
    async def browse(
        employer_id: Employer,
        status: Status | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: datetime | None = None,
    ) -> VerificationPage:
        records = await context.store.list_requests(employer_id, status, limit, before)
        next_before = records[-1].accepted_at if len(records) == limit else None
        return VerificationPage(items=[_out(r) for r in records], next_before=next_before)

    @router.put("/webhooks", response_model=WebhooksOut)
    async def configure_webhooks(body: WebhooksIn, employer_id: Employer) -> WebhooksOut:
        endpoints = await context.store.set_webhooks(employer_id, [str(u) for u in body.urls])
        return WebhooksOut(endpoints=[WebhookOut(url=e.url, secret=e.secret) for e in endpoints])

    return router


def _application(body: VerificationIn) -> Application:
    return Application(
        qualification_id=body.qualification_id,
        body_ids=tuple(body.body_ids) if body.body_ids else None,
        region=body.region,
        holder=Holder(
            name=body.holder.name,
            name_zh=body.holder.name_zh,
            nationality=body.holder.nationality,
            document_type=body.holder.document_type,
            document_number=body.holder.document_number,
        ),
        certificate=Certificate(
            number=body.certificate.number,
            issued_on=body.certificate.issued_on,
            expires_on=body.certificate.expires_on,
            channel_fields=body.certificate.channel_fields,
        ),
        consent=body.consent,
    )


def holder_ref(key: bytes, document_type: str, nationality: str, number: str) -> str:
    """Pseudonymous, stable reference of a holder: the same document gives the same reference."""
    message = f"{document_type}:{nationality}:{number.upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _requested_event(
    body: VerificationIn, employer_id: UUID, catalogue_bodies: tuple[str, ...], key: bytes
) -> VerificationRequested:
    holder = body.holder
    return VerificationRequested(
        request_id=uuid4(),
        employer_id=employer_id,
        region=body.region,
        qualification_id=body.qualification_id,
        body_ids=list(body.body_ids or catalogue_bodies),
        holder=HolderClaim(
            name=holder.name,
            name_zh=holder.name_zh,
            nationality=holder.nationality,
            holder_ref=holder_ref(
                key, holder.document_type, holder.nationality, holder.document_number
            ),
        ),
        certificate=CertificateClaim(
            number=body.certificate.number,
            issued_on=body.certificate.issued_on,
            expires_on=body.certificate.expires_on,
            channel_fields=body.certificate.channel_fields,
        ),
    )


def _out(record: RequestRecord) -> VerificationOut:
    return VerificationOut(
        id=record.id,
        status=record.status.value,
        qualification_id=record.qualification_id,
        body_ids=record.body_ids,
        region=record.region,
        accepted_at=record.accepted_at,
        expected_completion_at=record.expected_completion_at,
        decided_at=record.decided_at,
        verification_code=record.verification_code,
        reason=record.reason,
        checks=record.checks,
    )
