"""The audit log of every lookup of personal data: who, when, which code or holder, from where."""

from datetime import datetime

import asyncpg

from services.registry.domain.access_trail import AccessEntry, AccessScope
from services.runtime.batching import GroupCommit

AuditRow = tuple[str, str, str, str | None, str | None, str]

# A lookup is answered once its entry is committed. Waiting this long for the entries of
# concurrent lookups writes one batch where a lone commit each would cost PostgreSQL (which
# shares the registry's cores) a transaction apiece; it adds at most this much to a lookup.
LINGER_SECONDS = 0.005


class AuditLog:
    # One prepared statement and one message for a whole batch. COPY cost several writes
    # per batch (statement, data, end) and, for the handful of rows a batch holds, more CPU on
    # both sides than this.
    INSERT_ALL = (
        "INSERT INTO audit_log (actor, peer, action, code, holder_ref, outcome) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[])"
    )

    # Entries naming the code, and listings of its holder's verifications since it was issued.
    TRAIL = (
        "SELECT id, at, actor, peer, action, outcome, "
        "CASE WHEN code = $1 THEN 'code' ELSE 'holder' END AS scope FROM audit_log "
        "WHERE (code = $1 OR (holder_ref = $2 AND at >= $3)) "
        "AND ($4::bigint IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    )

    def __init__(self, pool: asyncpg.Pool, linger: float = LINGER_SECONDS) -> None:
        self._pool = pool
        self._writes = GroupCommit[AuditRow, None](self._write, linger=linger)

    async def _write(self, rows: list[AuditRow]) -> list[None]:
        await self._pool.execute(self.INSERT_ALL, *zip(*rows, strict=True))
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
