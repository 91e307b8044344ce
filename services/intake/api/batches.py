"""Employer routes of batches: many applications at once (JSON or CSV), per-row results."""

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Request
from pydantic import ValidationError

from services.intake.api.batch_input import EXAMPLE_CSV, column_of, parse_batch
from services.intake.api.openapi import documented_problems
from services.intake.api.problems import invalid_fields, problem_body
from services.intake.api.schemas import (
    EXAMPLE_APPLICATION,
    EXAMPLE_PASSPORT_APPLICATION,
    BatchCheckOut,
    BatchCheckRow,
    BatchOut,
    VerificationIn,
)
from services.intake.api.verifications import out
from services.intake.applying import Applying, Eligible
from services.intake.domain.errors import Refusal
from services.intake.domain.turnaround import Observed
from services.intake.store.repository import IntakeStore, Prepared, Submission
from services.runtime.tracing import child_traceparent

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
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        batch = parse_batch(content_type, raw, max_rows)
        checked = [_check_row(applying, row) for row in batch.rows]
        observed = await _observed(applying, checked)
        rows: list[Prepared | Refusal] = [
            r if isinstance(r, Refusal) else applying.prepare(r, employer_id, observed)
            for r in checked
        ]
        idempotency = None
        if idempotency_key is not None:
            digest = hashlib.sha256(b"batch\0" + content_type.encode() + b"\0" + raw).digest()
            idempotency = (idempotency_key, digest)

        def render(results: list[Submission | Refusal]) -> dict[str, Any]:
            return _render(results, batch.from_csv, request.url.path)

        return await store.submit_batch(
            employer_id, rows, idempotency, render, child_traceparent(traceparent)
        )

    @router.post(
        f"{BATCH_PATH}/check",
        response_model=BatchCheckOut,
        summary="Dry run of a batch: per-row ok or problem; nothing stored or published",
        openapi_extra=_batch_body(max_rows),
        responses=documented_problems(400, 401, 413, 415),
    )
    async def check(request: Request, employer_id: Employer) -> BatchCheckOut:
        batch = parse_batch(request.headers.get("content-type", ""), await request.body(), max_rows)
        checked = [_check_row(applying, row) for row in batch.rows]
        observed = await _observed(applying, checked)
        results = []
        for number, row in enumerate(checked, start=1):
            if isinstance(row, Refusal):
                problem = _problem(row, batch.from_csv, request.url.path)
                results.append(BatchCheckRow(row=number, ok=False, problem=problem))
            else:
                expected = applying.prepare(row, employer_id, observed).expected_completion_at
                results.append(
                    BatchCheckRow(
                        row=number,
                        ok=True,
                        body_ids=list(row.body_ids),
                        expected_completion_at=expected,
                    )
                )
        ok = sum(r.ok for r in results)
        return BatchCheckOut(rows=len(results), ok=ok, refused=len(results) - ok, results=results)

    return router


def _check_row(applying: Applying, row: Any) -> Eligible | Refusal:
    try:
        return applying.check(VerificationIn.model_validate(row))
    except ValidationError as error:
        return invalid_fields(error.errors())
    except Refusal as refusal:
        return refusal


async def _observed(
    applying: Applying, checked: Sequence[Eligible | Refusal]
) -> dict[str, Observed]:
    return await applying.observed(
        [b for row in checked if isinstance(row, Eligible) for b in row.body_ids]
    )


def _render(results: list[Submission | Refusal], from_csv: bool, instance: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for number, result in enumerate(results, start=1):
        if isinstance(result, Refusal):
            problem = _problem(result, from_csv, instance)
            rows.append({"row": number, "result": "refused", "problem": problem})
        else:
            # Expected time as computed at acceptance (an in-flight one: as stored).
            record = result.record
            verification = out(record, record.expected_completion_at).model_dump(mode="json")
            kind = "accepted" if result.created else "already_in_flight"
            rows.append({"row": number, "result": kind, "verification": verification})
    counts = {k: sum(r["result"] == k for r in rows) for k in ("accepted", "already_in_flight")}
    return {
        "rows": len(rows),
        **counts,
        "refused": len(rows) - sum(counts.values()),
        "results": rows,
    }


def _problem(refusal: Refusal, from_csv: bool, instance: str) -> dict[str, Any]:
    body = problem_body(refusal, instance)
    if from_csv:
        for error in body["errors"]:
            error["column"] = column_of(error["pointer"])
    return body
