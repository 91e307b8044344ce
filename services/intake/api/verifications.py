"""Employer routes of single verification requests: apply, dry-run, read, list."""

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from pydantic import BeforeValidator

from services.contracts.events import Region
from services.intake.api.openapi import documented_problems
from services.intake.api.schemas import (
    EXAMPLE_APPLICATION,
    EXAMPLE_PASSPORT_APPLICATION,
    PRINTABLE_ASCII,
    CheckOut,
    StatusChange,
    VerificationIn,
    VerificationOut,
    VerificationPage,
)
from services.intake.applying import Applying
from services.intake.domain.lifecycle import Status
from services.intake.store.repository import IntakeStore, PageCursor, RequestFilter, RequestRecord
from services.intake.usecases.following import (
    browse_applications,
    decode_cursor,
    follow_application,
    with_current_expectation,
)
from services.intake.usecases.submitting import check_application, submit_application

APPLICATION_EXAMPLES: dict[str, Any] = {
    "resident": {
        "summary": "PRC resident, every awarding body of the qualification",
        "value": EXAMPLE_APPLICATION,
    },
    "passport": {
        "summary": "Passport holder, one of the joint awarding bodies, channel fields",
        "value": EXAMPLE_PASSPORT_APPLICATION,
    },
}

_MIN_UUID = UUID(int=0)


def _iso_8601_only(value: object) -> object:
    # pydantic would also read "0.5" as seconds since 1970; the contract says date-time.
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2025-06-01T09:30:00Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_iso_8601_only)]


def verification_routes(store: IntakeStore, applying: Applying, employer: Any) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["verifications"])
    Employer = Annotated[UUID, Depends(employer)]
    Application = Annotated[VerificationIn, Body(openapi_examples=APPLICATION_EXAMPLES)]

    @router.post(
        "/verifications",
        status_code=202,
        response_model=VerificationOut,
        summary="Apply for a verification",
        responses={
            200: {"model": VerificationOut, "description": "Already in flight: the existing one"},
            **documented_problems(401, 409, 422),
        },
    )
    async def apply(
        body: Application,
        response: Response,
        employer_id: Employer,
        idempotency_key: Annotated[
            str | None,
            Header(
                max_length=255,
                description="Same key + same body: the original answer; other body: 409",
            ),
        ] = None,
        traceparent: Annotated[str | None, Header(description="W3C trace context")] = None,
    ) -> VerificationOut:
        submission = await submit_application(
            store, applying, employer_id, body, idempotency_key, traceparent
        )
        response.status_code = 202 if submission.created else 200
        response.headers["Location"] = f"/v1/verifications/{submission.record.id}"
        return await _current(applying, submission.record)

    @router.post(
        "/verifications/check",
        response_model=CheckOut,
        summary="Dry run: validate a request without submitting it",
        description="Nothing is stored and nothing is published.",
        responses=documented_problems(401, 422),
    )
    async def check(body: Application, employer_id: Employer) -> CheckOut:
        dry_run = await check_application(store, applying, employer_id, body)
        return CheckOut(
            body_ids=list(dry_run.body_ids),
            expected_completion_at=dry_run.expected_completion_at,
            in_flight_request_id=dry_run.in_flight_request_id,
        )

    @router.get(
        # Only a UUID matches, so that GET /v1/verifications/check is a 405, not a bad id.
        "/verifications/{request_id:uuid}",
        response_model=VerificationOut,
        summary="Read one request (status, expected completion, outcome)",
        responses=documented_problems(401, 404, 422),
    )
    async def read(request_id: UUID, employer_id: Employer) -> VerificationOut:
        followed = await follow_application(store, applying, employer_id, request_id)
        return out(followed.record, followed.expected_completion_at)

    @router.get(
        "/verifications",
        response_model=VerificationPage,
        summary="List and filter the employer's requests, newest first",
        responses=documented_problems(400, 401, 422),
    )
    async def browse(
        employer_id: Employer,
        status: Status | None = None,
        qualification_id: Annotated[
            str | None, Query(max_length=64, pattern=PRINTABLE_ASCII)
        ] = None,
        region: Region | None = None,
        certificate_number: Annotated[
            str | None, Query(max_length=100, pattern=PRINTABLE_ASCII)
        ] = None,
        accepted_from: Annotated[Timestamp | None, Query(description="Inclusive")] = None,
        accepted_to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
        before: Annotated[Timestamp | None, Query(deprecated=True)] = None,
    ) -> VerificationPage:
        where = RequestFilter(
            status, qualification_id, region, certificate_number, accepted_from, accepted_to
        )
        after = decode_cursor(cursor) if cursor else _before(before)
        page = await browse_applications(store, applying, employer_id, where, limit, after)
        return VerificationPage(
            items=[out(f.record, f.expected_completion_at) for f in page.items],
            next_cursor=page.next_cursor,
            next_before=page.next_before,
        )

    return router


def _before(before: datetime | None) -> PageCursor | None:
    return None if before is None else PageCursor(before, _MIN_UUID)


async def _current(applying: Applying, record: RequestRecord) -> VerificationOut:
    followed = await with_current_expectation(applying, record)
    return out(followed.record, followed.expected_completion_at)


def out(record: RequestRecord, expected_completion_at: datetime) -> VerificationOut:
    return VerificationOut(
        id=record.id,
        status=record.status,
        qualification_id=record.qualification_id,
        body_ids=record.body_ids,
        region=record.region,
        accepted_at=record.accepted_at,
        verifying_at=record.verifying_at,
        stage=record.stage,
        expected_completion_at=expected_completion_at,
        decided_at=record.decided_at,
        verification_code=record.verification_code,
        reason=record.reason,
        checks=record.checks,
        history=[StatusChange.model_validate(change) for change in record.history or ()],
    )
