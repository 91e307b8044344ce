"""The audit log of every lookup of personal data: who, when, which code or holder, from where."""

import asyncpg


class AuditLog:
    INSERT = (
        "INSERT INTO audit_log (actor, peer, action, code, holder_ref, outcome) "
        "VALUES ($1, $2, $3, $4, $5, $6)"
    )

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

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
        await self._pool.execute(self.INSERT, actor, peer, action, code, holder_ref, outcome)
