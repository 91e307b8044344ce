"""The console's audit log: who did what to which target, and when. Every operator action and
every opening of personal data is written here before its result is shown."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

INSERT = "INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4::jsonb)"
RECENT = (
    "SELECT id, at, actor, action, target, detail::text FROM audit_log "
    "WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR actor = $2) "
    "ORDER BY id DESC LIMIT $3"
)


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, str]


class AuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        detail: Mapping[str, str] | None = None,
    ) -> None:
        await self._pool.execute(
            INSERT, actor, action, target, orjson.dumps(dict(detail or {})).decode()
        )

    async def recent(
        self, *, target: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        rows = await self._pool.fetch(RECENT, target, actor, limit)
        return [
            AuditEntry(r["id"], r["at"], r["actor"], r["action"], r["target"], orjson.loads(r[5]))
            for r in rows
        ]
