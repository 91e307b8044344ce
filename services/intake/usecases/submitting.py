"""Applying for one verification: the dry run and the submission, exactly as both the API
(`POST /v1/verifications`, `/check`) and the employer pages' form do them."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from services.intake.api.problems import invalid_fields
from services.intake.api.schemas import VerificationIn
from services.intake.applying import Applying
from services.intake.store.repository import IntakeStore, Submission
from services.runtime.observability import request_id_var
from services.runtime.tracing import child_traceparent


@dataclass(frozen=True)
class DryRun:
    """What a submission now would do: ask these bodies, expect this completion time, or
    return the request already in flight."""

    body_ids: tuple[str, ...]
    expected_completion_at: datetime
    in_flight_request_id: UUID | None


def read_application(raw: Any) -> VerificationIn:
    """The application in `raw` (a JSON-like object); raises the invalid-field refusal that names
    every field pydantic rejected."""
    try:
        return VerificationIn.model_validate(raw)
    except ValidationError as error:
        raise invalid_fields(error.errors()) from None


async def check_application(
    store: IntakeStore, applying: Applying, employer_id: UUID, body: VerificationIn
) -> DryRun:
    """Nothing is stored and nothing is published; raises the first Refusal."""
    eligible = applying.check(body)
    prepared = applying.prepare(eligible, employer_id, await applying.observed(eligible.body_ids))
    return DryRun(
        body_ids=eligible.body_ids,
        expected_completion_at=prepared.expected_completion_at,
        in_flight_request_id=await store.find_in_flight(prepared.event),
    )


async def submit_application(
    store: IntakeStore,
    applying: Applying,
    employer_id: UUID,
    body: VerificationIn,
    idempotency_key: str | None = None,
    traceparent: str | None = None,
) -> Submission:
    """Stores the request with its event, or returns the identical one already in flight; the
    same idempotency key with the same body returns the original answer (another body: 409)."""
    eligible = applying.check(body)
    prepared = applying.prepare(eligible, employer_id, await applying.observed(eligible.body_ids))
    request_id_var.set(str(prepared.event.request_id))
    idempotency = None
    if idempotency_key is not None:
        idempotency = (idempotency_key, hashlib.sha256(body.model_dump_json().encode()).digest())
    return await store.submit(
        prepared.event,
        prepared.accepted_at,
        prepared.expected_completion_at,
        idempotency,
        child_traceparent(traceparent),
    )
