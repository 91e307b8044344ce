"""PostgreSQL repository of the verifier: verdicts, evidence and the outbox, written together."""

import hashlib
from pathlib import Path
from uuid import UUID

import asyncpg
import orjson

from services.contracts.events import VerdictReached
from services.runtime.outbox import write_outbox
from services.verifier.domain.verdicts import BodyAnswer

MIGRATIONS = Path(__file__).parent / "migrations"


class VerifierStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def decided(self, request_ids: list[UUID]) -> set[UUID]:
        rows = await self._pool.fetch(
            "SELECT request_id FROM verdicts WHERE request_id = ANY($1::uuid[])", request_ids
        )
        return {row["request_id"] for row in rows}

    async def record(
        self, verdict: VerdictReached, answers: list[BodyAnswer], traceparent: str | None
    ) -> bool:
        """Store the verdict, its evidence and its event at once; False if already stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO verdicts (request_id, verdict, reason, checks, verification_code, "
                "decided_at) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6) "
                "ON CONFLICT DO NOTHING RETURNING true",
                verdict.request_id,
                verdict.verdict.value,
                verdict.reason.model_dump_json(),
                orjson.dumps([c.model_dump(mode="json") for c in verdict.checks]).decode(),
                verdict.verification_code,
                verdict.decided_at,
            )
            if not inserted:
                return False
            await conn.executemany(
                "INSERT INTO evidence (request_id, body_id, channel, status, detail, answer_digest)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                [_evidence_row(verdict.request_id, a) for a in answers],
            )
            await write_outbox(conn, [verdict], traceparent)
        return True


def _evidence_row(request_id: UUID, answer: BodyAnswer) -> tuple[object, ...]:
    digest = hashlib.sha256(
        orjson.dumps(
            {
                "status": answer.status.value,
                "registered_name": answer.registered_name,
                "expires_on": answer.expires_on,
            }
        )
    ).hexdigest()
    return (request_id, answer.body_id, answer.channel, answer.status.value, answer.detail, digest)
