"""Employer routes of batches: many applications at once (JSON or CSV), per-row results."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request

from services.intake.api.batch_input import EXAMPLE_CSV
from services.intake.api.openapi import documented_problems
from services.intake.api.schemas import (
    EXAMPLE_APPLICATION,
    EXAMPLE_PASSPORT_APPLICATION,
    BatchCheckOut,
    BatchOut,
)
from services.intake.applying import Applying
from services.intake.store.repository import IntakeStore
from services.intake.usecases.submitting_batch import check_batch, submit_batch

BATCH_PATH = "/v1/verification-batches"


def _batch_body(max_rows: int) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": (
                f"At most {max_rows} applications: a JSON array of the single application, or "
                "CSV (UTF-8, header row; columns: qualification_id, region, holder_name, "
                "nationality, document_type, document_number, certificate_number, issued_on, "
                "consent; optional: body_ids (space- or ;-separated), holder_name_zh, "
                "expires_on, channel.<field>)."
            ),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": max_rows,
                        # Rows are checked one by one, a bad row refused in the results: any
                        # object is a row the batch accepts to answer for.
                        "items": {
                            "type": "object",
                            "description": "One application, as VerificationIn",
                        },
                    },
                    "example": [EXAMPLE_APPLICATION, EXAMPLE_PASSPORT_APPLICATION],
                },
                "text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_CSV},
            },
        }
    }


def batch_routes(store: IntakeStore, applying: Applying, employer: Any, max_rows: int) -> APIRouter:
    router = APIRouter(tags=["batches"])
    Employer = Annotated[UUID, Depends(employer)]

    @router.post(
        BATCH_PATH,
        response_model=BatchOut,
        summary="Submit a batch; each row is accepted or refused on its own",
        description=(
            "Accepted rows are stored with their events in one transaction. With an "
            "`Idempotency-Key`, the same batch again returns the original answer."
        ),
        openapi_extra=_batch_body(max_rows),
        responses=documented_problems(400, 401, 409, 413, 415),
    )
    async def submit(
        request: Request,
        employer_id: Employer,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
        traceparent: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        return await submit_batch(
            store,
            applying,
            employer_id,
            request.headers.get("content-type", ""),
            await request.body(),
            max_rows,
            request.url.path,
            idempotency_key,
            traceparent,
        )

    @router.post(
        f"{BATCH_PATH}/check",
        response_model=BatchCheckOut,
        summary="Dry run of a batch: per-row ok or problem; nothing stored or published",
        openapi_extra=_batch_body(max_rows),
        responses=documented_problems(400, 401, 413, 415),
    )
    async def check(request: Request, employer_id: Employer) -> BatchCheckOut:
        return await check_batch(
            applying,
            employer_id,
            request.headers.get("content-type", ""),
            await request.body(),
            max_rows,
            request.url.path,
        )

    return router
