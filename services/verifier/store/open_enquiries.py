"""What operators read of the enquiries awaiting an answer: references, bodies and deadlines,
never the holder (no name, no document number)."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg

_SQL = Path(__file__).parent / "sql"
_OPEN = (_SQL / "open_enquiries.sql").read_text()
_OPEN_BY_BODY = (_SQL / "open_enquiries_by_body.sql").read_text()


@dataclass(frozen=True)
class OpenEnquiry:
    reference: str
    request_id: UUID
    body_id: str
    sent_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class OpenEnquiries:
    items: list[OpenEnquiry]
    total: int  # all that match, of which `items` are the most urgent


@dataclass(frozen=True)
class BodyBacklog:
    open: int
    overdue: int
    next_due_at: datetime


class OpenEnquiryReader:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def open_enquiries(
        self, body_id: str | None, limit: int, reference: str | None = None
    ) -> OpenEnquiries:
        rows = await self._pool.fetch(_OPEN, body_id, limit, reference)
        items = [
            OpenEnquiry(r["reference"], r["request_id"], r["body_id"], r["sent_at"], r["due_at"])
            for r in rows
        ]
        return OpenEnquiries(items, rows[0]["total"] if rows else 0)

    async def backlog_by_body(self) -> dict[str, BodyBacklog]:
        rows = await self._pool.fetch(_OPEN_BY_BODY)
        return {r["body_id"]: BodyBacklog(r["open"], r["overdue"], r["next_due_at"]) for r in rows}
