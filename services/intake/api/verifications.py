"""Employer routes of single verification requests: apply, dry-run, read, list."""

import base64
import binascii
import hashlib
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
from services.intake.domain.errors import invalid_cursor, not_found
from services.intake.domain.lifecycle import Status
from services.intake.store.repository import IntakeStore, PageCursor, RequestFilter, RequestRecord
from services.runtime.observability import request_id_var
from services.runtime.tracing import child_traceparent

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
        eligible = applying.check(body)
        prepared = applying.prepare(
            eligible, employer_id, await applying.observed(eligible.body_ids)
        )
        request_id_var.set(str(prepared.event.request_id))
        idempotency = None
        if idempotency_key is not None:
            idempotency = (
                idempotency_key,
                hashlib.sha256(body.model_dump_json().encode()).digest(),
            )
        submission = await store.submit(
            prepared.event,
            prepared.accepted_at,
            prepared.expected_completion_at,
            idempotency,
            child_traceparent(traceparent),
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
        eligible = applying.check(body)
        prepared = applying.prepare(
            eligible, employer_id, await applying.observed(eligible.body_ids)
        )
        return CheckOut(
            body_ids=list(eligible.body_ids),
            expected_completion_at=prepared.expected_completion_at,
            in_flight_request_id=await store.find_in_flight(prepared.event),
        )

    @router.get(
        # Only a UUID matches, so that GET /v1/verifications/check is a 405, not a bad id.
        "/verifications/{request_id:uuid}",
        response_model=VerificationOut,
        summary="Read one request (status, expected completion, outcome)",
        responses=documented_problems(401, 404, 422),
    )
    async def read(request_id: UUID, employer_id: Employer) -> VerificationOut:
        record = await store.get(employer_id, request_id)
        if record is None:
            raise not_found()
        return await _current(applying, record)

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
        records = await store.list_requests(employer_id, where, limit, after)
        full = len(records) == limit
        expected = await applying.current_expectations(records)
        return VerificationPage(
            items=[out(r, expected[r.id]) for r in records],
            next_cursor=encode_cursor(records[-1]) if full else None,
            next_before=records[-1].accepted_at if full else None,
        )

    return router


def _before(before: datetime | None) -> PageCursor | None:
    return None if before is None else PageCursor(before, _MIN_UUID)


def encode_cursor(record: RequestRecord) -> str:
    raw = f"{record.accepted_at.isoformat()}|{record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> PageCursor:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        accepted_at, request_id = raw.split("|", 1)
        position = PageCursor(datetime.fromisoformat(accepted_at), UUID(request_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise invalid_cursor() from error
    if position.accepted_at.tzinfo is None:
        raise invalid_cursor()
    return position


async def _current(applying: Applying, record: RequestRecord) -> VerificationOut:
    expected = await applying.current_expectations([record])
    return out(record, expected[record.id])


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
