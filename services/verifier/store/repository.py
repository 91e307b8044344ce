"""PostgreSQL repository of the verifier: work in progress, parked enquiries, verdicts, evidence
and the outbox, each state change written together with the events that announce it."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.contracts.events import (
    Event,
    VerdictReached,
    VerificationProgressed,
    VerificationRequested,
)
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox, write_traced_outbox
from services.verifier.channels.contact import Contacted
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Work:
    """A request taken on and not yet decided."""

    request: VerificationRequested
    traceparent: str | None
    state: str
    answers: list[Contacted]
    takeovers: int = 0


@dataclass(frozen=True)
class Enquiry:
    reference: str
    body_id: str
    due_at: datetime


class VerifierStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @staticmethod
    async def take_on(
        conn: Connection,
        requests: list[tuple[VerificationRequested, str | None]],
        owner: str,
        lease_seconds: float,
    ) -> set[UUID]:
        """Claim the requests not seen before, inside the caller's transaction (one statement
        for the whole batch). Returns the ids newly taken on."""
        rows = await conn.fetch(
            "INSERT INTO work (request_id, request, traceparent, owner, lease_until) "
            "SELECT r.id, r.request::jsonb, r.trace, $4, now() + make_interval(secs => $5) "
            "FROM unnest($1::uuid[], $2::text[], $3::text[]) AS r(id, request, trace) "
            "WHERE NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.request_id = r.id) "
            "ON CONFLICT DO NOTHING RETURNING request_id",
            [r.request_id for r, _ in requests],
            [r.model_dump_json() for r, _ in requests],
            [t for _, t in requests],
            owner,
            lease_seconds,
        )
        return {row["request_id"] for row in rows}

    async def renew_leases(self, owner: str, request_ids: list[UUID], seconds: float) -> None:
        if request_ids:
            await self._pool.execute(
                "UPDATE work SET lease_until = now() + make_interval(secs => $3) "
                "WHERE owner = $1 AND request_id = ANY($2::uuid[]) AND state = 'active'",
                owner,
                request_ids,
                seconds,
            )

    async def claim_abandoned(self, owner: str, lease_seconds: float, limit: int) -> list[Work]:
        """Requests whose verifier died (lease expired), and parked requests whose answers are
        all in or whose wait is over: taken over by `owner`."""
        rows = await self._pool.fetch(
            "UPDATE work SET owner = $1, lease_until = now() + make_interval(secs => $2), "
            "takeovers = takeovers + 1 WHERE request_id IN "
            "(SELECT w.request_id FROM work w WHERE w.lease_until < now() "
            "  AND (w.state = 'active' OR (w.state = 'parked' AND (w.park_deadline < now() "
            "    OR NOT EXISTS (SELECT 1 FROM enquiries e "
            "                   WHERE e.request_id = w.request_id AND e.answer IS NULL)))) "
            "  ORDER BY w.lease_until LIMIT $3 FOR UPDATE SKIP LOCKED) "
            "RETURNING request, traceparent, state, answers, takeovers",
            owner,
            lease_seconds,
            limit,
        )
        return [_work_of(row) for row in rows]

    async def load(self, request_id: UUID) -> Work | None:
        row = await self._pool.fetchrow(
            "SELECT request, traceparent, state, answers FROM work WHERE request_id = $1",
            request_id,
        )
        return None if row is None else _work_of(row)

    async def enquiry_answers(self, request_id: UUID) -> dict[str, BodyAnswer | None]:
        rows = await self._pool.fetch(
            "SELECT body_id, answer FROM enquiries WHERE request_id = $1", request_id
        )
        return {
            row["body_id"]: None
            if row["answer"] is None
            else _answer_of(orjson.loads(row["answer"]))
            for row in rows
        }

    async def store_enquiry_answer(
        self, reference: str, answer: BodyAnswer, lease_owner: str, lease_seconds: float
    ) -> UUID | None:
        """Record a body's late answer (the first one wins); None if no such enquiry. Leases the
        request to `lease_owner`, who resumes it now; if it dies, the sweeper will."""
        async with self._pool.acquire() as conn, conn.transaction():
            request_id: UUID | None = await conn.fetchval(
                "UPDATE enquiries SET answer = COALESCE(answer, $2::jsonb), "
                "answered_at = COALESCE(answered_at, now()) WHERE reference = $1 "
                "RETURNING request_id",
                reference,
                orjson.dumps(_answer_json(answer)).decode(),
            )
            if request_id is not None:
                await conn.execute(
                    "UPDATE work SET owner = $2, lease_until = now() + make_interval(secs => $3)"
                    " WHERE request_id = $1 AND state = 'parked'",
                    request_id,
                    lease_owner,
                    lease_seconds,
                )
        return request_id

    async def park(
        self,
        request_id: UUID,
        answers: list[Contacted],
        enquiries: list[Enquiry],
        progress: VerificationProgressed,
        traceparent: str | None,
    ) -> None:
        """Park a request until its enquiries are answered; nothing waits in memory."""
        deadline = max(e.due_at for e in enquiries)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO enquiries (reference, request_id, body_id, due_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                [(e.reference, request_id, e.body_id, e.due_at) for e in enquiries],
            )
            await conn.execute(
                "UPDATE work SET state = 'parked', answers = $2::jsonb, park_deadline = $3, "
                "lease_until = now() WHERE request_id = $1 AND state <> 'decided'",
                request_id,
                orjson.dumps([_contact_json(c) for c in answers]).decode(),
                deadline,
            )
            await _insert_evidence(conn, request_id, answers)
            await write_outbox(conn, [progress], traceparent)

    async def announce(self, events: list[Event], traceparent: str | None = None) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await write_outbox(conn, events, traceparent)

    async def record(
        self, verdict: VerdictReached, contacts: list[Contacted], traceparent: str | None
    ) -> bool:
        """Store the verdict, its evidence and its event at once; False if already stored."""
        [stored] = await self.record_many([Recording(verdict, contacts, traceparent)])
        return stored

    async def record_many(self, recordings: list["Recording"]) -> list[bool]:
        """Many verdicts in one transaction (group commit); for each, False if it was already
        stored (another verifier decided first), in which case nothing of it is written."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "INSERT INTO verdicts (request_id, verdict, reason, checks, decided_at) "
                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[], $4::jsonb[], "
                "$5::timestamptz[]) "
                "ON CONFLICT DO NOTHING RETURNING request_id",
                *_verdict_columns([r.verdict for r in recordings]),
            )
            inserted = {row["request_id"] for row in rows}
            await conn.execute(
                "UPDATE work SET state = 'decided' WHERE request_id = ANY($1::uuid[])",
                [r.verdict.request_id for r in recordings],
            )
            fresh = [r for r in recordings if r.verdict.request_id in inserted]
            if fresh:
                await conn.executemany(
                    _EVIDENCE_INSERT,
                    [_evidence_row(r.verdict.request_id, c) for r in fresh for c in r.contacts],
                )
                await write_traced_outbox(conn, [(r.verdict, r.traceparent) for r in fresh])
        return [r.verdict.request_id in inserted for r in recordings]


@dataclass(frozen=True)
class Recording:
    """A verdict with the contacts that led to it (the evidence)."""

    verdict: VerdictReached
    contacts: list[Contacted]
    traceparent: str | None


def _verdict_columns(verdicts: list[VerdictReached]) -> tuple[list[object], ...]:
    return (
        [v.request_id for v in verdicts],
        [v.verdict.value for v in verdicts],
        [v.reason.model_dump_json() for v in verdicts],
        [orjson.dumps([c.model_dump(mode="json") for c in v.checks]).decode() for v in verdicts],
        [v.decided_at for v in verdicts],
    )


_EVIDENCE_INSERT = (
    "INSERT INTO evidence (request_id, body_id, channel, status, detail, answer_digest, "
    "asked, asked_at, seconds, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


async def _insert_evidence(conn: Connection, request_id: UUID, contacts: list[Contacted]) -> None:
    await conn.executemany(_EVIDENCE_INSERT, [_evidence_row(request_id, c) for c in contacts])


def _evidence_row(request_id: UUID, contact: Contacted) -> tuple[object, ...]:
    answer = contact.answer
    digest = (
        answer.answer_digest
        or hashlib.sha256(
            orjson.dumps(
                {
                    "status": answer.status.value,
                    "registered_name": answer.registered_name,
                    "expires_on": answer.expires_on,
                }
            )
        ).hexdigest()
    )
    return (
        request_id,
        answer.body_id,
        answer.channel,
        answer.status.value,
        answer.detail,
        digest,
        answer.asked,
        contact.asked_at,
        contact.seconds,
        contact.attempts,
    )


def _answer_json(answer: BodyAnswer) -> dict[str, Any]:
    return {
        "body_id": answer.body_id,
        "channel": answer.channel,
        "status": answer.status.value,
        "registered_name": answer.registered_name,
        "expires_on": answer.expires_on.isoformat() if answer.expires_on else None,
        "detail": answer.detail,
        "asked": answer.asked,
        "answer_digest": answer.answer_digest,
    }


def _answer_of(data: dict[str, Any]) -> BodyAnswer:
    expires = data.get("expires_on")
    return BodyAnswer(
        data["body_id"],
        data["channel"],
        BodyStatus(data["status"]),
        registered_name=data.get("registered_name"),
        expires_on=date.fromisoformat(expires) if expires else None,
        detail=data.get("detail", ""),
        asked=data.get("asked", ""),
        answer_digest=data.get("answer_digest"),
    )


def _contact_json(contact: Contacted) -> dict[str, Any]:
    return {
        "answer": _answer_json(contact.answer),
        "asked_at": contact.asked_at.isoformat(),
        "seconds": contact.seconds,
        "attempts": contact.attempts,
    }


def _contact_of(data: dict[str, Any]) -> Contacted:
    return Contacted(
        _answer_of(data["answer"]),
        datetime.fromisoformat(data["asked_at"]).astimezone(UTC),
        float(data["seconds"]),
        int(data["attempts"]),
    )


def _work_of(row: asyncpg.Record) -> Work:
    return Work(
        request=VerificationRequested.model_validate_json(row["request"]),
        traceparent=row["traceparent"],
        state=row["state"],
        answers=[_contact_of(c) for c in orjson.loads(row["answers"])],
        takeovers=row.get("takeovers", 0),
    )
