"""Following an employer's applications: one request, and the filtered list in pages, each with
its expected completion kept current (the API's reads and the employer pages)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.intake.applying import Applying
from services.intake.domain.errors import invalid_cursor, not_found
from services.intake.store.repository import IntakeStore, PageCursor, RequestFilter, RequestRecord


@dataclass(frozen=True)
class Followed:
    record: RequestRecord
    expected_completion_at: datetime  # as known now: recomputed until decided


@dataclass(frozen=True)
class ApplicationsPage:
    items: list[Followed]
    next_cursor: str | None  # None: this was the last page
    next_before: datetime | None


async def follow_application(
    store: IntakeStore, applying: Applying, employer_id: UUID, request_id: UUID
) -> Followed:
    """The employer's request; another employer's is as unknown as one that does not exist."""
    record = await store.get(employer_id, request_id)
    if record is None:
        raise not_found()
    return await with_current_expectation(applying, record)


async def with_current_expectation(applying: Applying, record: RequestRecord) -> Followed:
    expected = await applying.current_expectations([record])
    return Followed(record, expected[record.id])


async def browse_applications(
    store: IntakeStore,
    applying: Applying,
    employer_id: UUID,
    where: RequestFilter,
    limit: int,
    after: PageCursor | None,
) -> ApplicationsPage:
    """Newest first; `after` is the position after the previous page (`decode_cursor`)."""
    records = await store.list_requests(employer_id, where, limit, after)
    full = len(records) == limit
    expected = await applying.current_expectations(records)
    return ApplicationsPage(
        items=[Followed(r, expected[r.id]) for r in records],
        next_cursor=encode_cursor(records[-1]) if full else None,
        next_before=records[-1].accepted_at if full else None,
    )


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
