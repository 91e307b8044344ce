"""Applying for many verifications at once (a JSON array or a CSV file): the dry run and the
submission with their per-row results, as both the API (`POST /v1/verification-batches`,
`/check`) and the employer pages' upload do them."""

import hashlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.intake.api.batch_input import column_of, parse_batch
from services.intake.api.problems import problem_body
from services.intake.api.schemas import BatchCheckOut, BatchCheckRow
from services.intake.api.verifications import out
from services.intake.applying import Applying, Eligible
from services.intake.domain.errors import Refusal
from services.intake.domain.turnaround import Observed
from services.intake.store.repository import IntakeStore, Prepared, Submission
from services.intake.usecases.submitting import read_application
from services.runtime.tracing import child_traceparent


async def check_batch(
    applying: Applying,
    employer_id: UUID,
    content_type: str,
    raw: bytes,
    max_rows: int,
    instance: str,
) -> BatchCheckOut:
    """Per-row ok or problem; nothing stored or published. Raises the whole-file refusal of a
    malformed or too large batch."""
    batch = parse_batch(content_type, raw, max_rows)
    checked = [_check_row(applying, row) for row in batch.rows]
    observed = await _observed(applying, checked)
    results = []
    for number, row in enumerate(checked, start=1):
        if isinstance(row, Refusal):
            problem = _problem(row, batch.from_csv, instance)
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


async def submit_batch(
    store: IntakeStore,
    applying: Applying,
    employer_id: UUID,
    content_type: str,
    raw: bytes,
    max_rows: int,
    instance: str,
    idempotency_key: str | None = None,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """Every eligible row stored with its event in one transaction; the answer as the API gives
    it (a BatchOut). The same key with the same file returns the original answer."""
    batch = parse_batch(content_type, raw, max_rows)
    checked = [_check_row(applying, row) for row in batch.rows]
    observed = await _observed(applying, checked)
    rows: list[Prepared | Refusal] = [
        r if isinstance(r, Refusal) else applying.prepare(r, employer_id, observed) for r in checked
    ]
    idempotency = None
    if idempotency_key is not None:
        digest = hashlib.sha256(b"batch\0" + content_type.encode() + b"\0" + raw).digest()
        idempotency = (idempotency_key, digest)

    def render(results: list[Submission | Refusal]) -> dict[str, Any]:
        return _render(results, batch.from_csv, instance)

    return await store.submit_batch(
        employer_id, rows, idempotency, render, child_traceparent(traceparent)
    )


def _check_row(applying: Applying, row: Any) -> Eligible | Refusal:
    try:
        return applying.check(read_application(row))
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
