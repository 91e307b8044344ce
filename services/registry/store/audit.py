"""The audit log of every lookup of personal data: who, when, which code or holder, from where."""

from datetime import datetime

import asyncpg

from services.registry.domain.access_trail import AccessEntry, AccessScope
from services.runtime.batching import GroupCommit

AuditRow = tuple[str, str, str, str | None, str | None, str]


class AuditLog:
    COLUMNS = ("actor", "peer", "action", "code", "holder_ref", "outcome")
    INSERT = (
        "INSERT INTO audit_log (actor, peer, action, code, holder_ref, outcome) "
        "VALUES ($1, $2, $3, $4, $5, $6)"
    )

    # Entries naming the code, and listings of its holder's verifications since it was issued.
    TRAIL = (
        "SELECT id, at, actor, peer, action, outcome, "
        "CASE WHEN code = $1 THEN 'code' ELSE 'holder' END AS scope FROM audit_log "
        "WHERE (code = $1 OR (holder_ref = $2 AND at >= $3)) "
        "AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    )

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._writes = GroupCommit[AuditRow, None](self._write)

    async def _write(self, rows: list[AuditRow]) -> list[None]:
        # COPY: far less work for PostgreSQL than as many INSERTs, under a lookup storm.
        async with self._pool.acquire() as conn:
            await conn.copy_records_to_table("audit_log", records=rows, columns=self.COLUMNS)
        return [None] * len(rows)

    async def record(
        self,
        *,
        actor: str,
        peer: str,
        action: str,
        outcome: str,
        code: str | None = None,
        holder_ref: str | None = None,
    ) -> None:
        """Returns once the entry is stored: concurrent lookups share one round trip."""
        await self._writes.submit((actor, peer, action, code, holder_ref, outcome))

    async def trail(
        self,
        *,
        code: str,
        holder_ref: str,
        issued_at: datetime,
        limit: int,
        before_id: int | None = None,
    ) -> list[AccessEntry]:
        """Access to one code's record, newest first, from before `before_id` when given."""
        rows = await self._pool.fetch(self.TRAIL, code, holder_ref, issued_at, before_id, limit)
        return [
            AccessEntry(
                id=row["id"],
                at=row["at"],
                actor=row["actor"],
                peer=row["peer"],
                action=row["action"],
                outcome=row["outcome"],
                scope=AccessScope(row["scope"]),
            )
            for row in rows
        ]
