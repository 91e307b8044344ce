"""PostgreSQL repository of intake: employers, credentials, requests, webhooks, outbox, and
what intake learns from other services' events."""

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson

from services.contracts.events import (
    QualificationWithdrawn,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
)
from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.domain.lifecycle import FINAL, IN_FLIGHT, Status, status_after_verdict
from services.intake.domain.turnaround import Observed, TurnaroundPolicy
from services.intake.store import observations
from services.intake.store.deliveries import DeliveryLogStore
from services.intake.store.observations import WithdrawalRecord
from services.intake.store.webhook_settings import WebhookSettingsStore
from services.runtime.batching import GroupCommit
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox, write_traced_outbox
from services.runtime.secret_box import SecretBox

MIGRATIONS = Path(__file__).parent / "migrations"
_OBSERVED_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class RequestRecord:
    id: UUID
    employer_id: UUID
    qualification_id: str
    body_ids: list[str]
    region: str
    status: Status
    reason: dict[str, str] | None
    checks: list[dict[str, Any]] | None
    verification_code: str | None
    accepted_at: datetime
    expected_completion_at: datetime
    decided_at: datetime | None
    updated_at: datetime
    certificate_number: str
    issued_on: date
    verifying_at: datetime | None = None
    stage: str | None = None
    verifier_expected_at: datetime | None = None
    history: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class _Plain:
    """A submission without an Idempotency-Key, waiting to be written with others."""

    event: VerificationRequested
    accepted_at: datetime
    expected_completion_at: datetime
    traceparent: str | None


@dataclass(frozen=True)
class Submission:
    record: RequestRecord
    created: bool  # False: an identical request was already in flight


@dataclass(frozen=True)
class Prepared:
    """An eligible request, ready to be stored with its event."""

    event: VerificationRequested
    accepted_at: datetime
    expected_completion_at: datetime


@dataclass(frozen=True)
class PageCursor:
    """Position after the last item of a page: pages are ordered by (accepted_at, id) desc."""

    accepted_at: datetime
    id: UUID


@dataclass(frozen=True)
class RequestFilter:
    status: Status | None = None
    qualification_id: str | None = None
    region: str | None = None
    certificate_number: str | None = None
    accepted_from: datetime | None = None
    accepted_to: datetime | None = None


BatchRenderer = Callable[[list[Submission | Refusal]], dict[str, Any]]

_REQUEST_COLUMNS = (
    "id, employer_id, qualification_id, body_ids, region, status, reason, checks, "
    "verification_code, accepted_at, expected_completion_at, decided_at, updated_at, "
    "certificate_number, issued_on, verifying_at, stage, verifier_expected_at, history"
)


def _record(row: asyncpg.Record | dict[str, Any]) -> RequestRecord:
    values = dict(row)
    values["status"] = Status(values["status"])
    for column in ("reason", "checks", "history"):
        if values[column] is not None:
            values[column] = orjson.loads(values[column])
    return RequestRecord(**values)


class IdempotencyKeyReused(Refusal):
    def __init__(self) -> None:
        super().__init__(
            RefusalCode.IDEMPOTENCY_KEY_REUSED,
            "该幂等键已用于另一请求内容",
            "This Idempotency-Key was already used with a different request body",
        )


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class IntakeStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        turnaround_policy: TurnaroundPolicy | None = None,
        secrets_box: SecretBox | None = None,
    ) -> None:
        self._pool = pool
        self._policy = turnaround_policy or TurnaroundPolicy()
        self.webhook_settings = WebhookSettingsStore(pool, secrets_box)
        self.deliveries = DeliveryLogStore(pool)
        self._plain_submissions = GroupCommit[_Plain, Submission](self._submit_together)
        self._observed: dict[tuple[str, ...], tuple[float, dict[str, Observed]]] = {}

    async def create_employer(self, credit_code: str, name: str) -> tuple[UUID, str]:
        """Register an employer and return its id and a new API key (shown once)."""
        employer_id = uuid4()
        async with self._pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchval(
                "SELECT id FROM employers WHERE credit_code = $1", credit_code
            )
            if existing is None:
                await conn.execute(
                    "INSERT INTO employers (id, credit_code, name) VALUES ($1, $2, $3)",
                    employer_id,
                    credit_code,
                    name,
                )
            else:
                employer_id = existing
            api_key = await self._issue_api_key(conn, employer_id)
        return employer_id, api_key

    async def issue_api_key(
        self, employer_id: UUID, name: str, created_by: UUID | None = None
    ) -> tuple[str, str]:
        """A new named key of the employer: its id and the key itself (shown once)."""
        async with self._pool.acquire() as conn:
            api_key = await self._issue_api_key(conn, employer_id, name, created_by)
        return api_key.split("_", 2)[1], api_key

    async def _issue_api_key(
        self,
        conn: Connection,
        employer_id: UUID,
        name: str = "default",
        created_by: UUID | None = None,
    ) -> str:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        await conn.execute(
            "INSERT INTO api_keys (key_id, secret_hash, employer_id, name, created_by) "
            "VALUES ($1, $2, $3, $4, $5)",
            key_id,
            hash_secret(secret),
            employer_id,
            name,
            created_by,
        )
        return f"qv_{key_id}_{secret}"

    async def authenticate(self, api_key: str) -> UUID | None:
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != "qv":
            return None
        row = await self._pool.fetchrow(
            "SELECT secret_hash, employer_id FROM api_keys "
            "WHERE key_id = $1 AND revoked_at IS NULL",
            parts[1],
        )
        if row is None or not hmac.compare_digest(row["secret_hash"], hash_secret(parts[2])):
            return None
        employer_id: UUID = row["employer_id"]
        return employer_id

    async def submit(
        self,
        event: VerificationRequested,
        accepted_at: datetime,
        expected_completion_at: datetime,
        idempotency: tuple[str, bytes] | None,
        traceparent: str | None,
    ) -> Submission:
        if idempotency is None:
            return await self._plain_submissions.submit(
                _Plain(event, accepted_at, expected_completion_at, traceparent)
            )
        async with self._pool.acquire() as conn, conn.transaction():
            if idempotency is not None:
                replay = await self._claim_idempotency_key(conn, event, idempotency)
                if replay is not None:
                    return replay
            (submission,) = await _insert_or_find_in_flight(
                conn, [(event, accepted_at, expected_completion_at)]
            )
            if submission.created:
                await write_outbox(conn, [event], traceparent)
            if idempotency is not None:
                await conn.execute(
                    "UPDATE idempotency_keys SET request_id = $3, created = $4 "
                    "WHERE employer_id = $1 AND key = $2",
                    event.employer_id,
                    idempotency[0],
                    submission.record.id,
                    submission.created,
                )
            return submission

    async def _submit_together(self, items: list[_Plain]) -> list[Submission]:
        """Group commit: requests arriving together share one transaction, one INSERT of the
        requests, one of their events and one NOTIFY."""
        async with self._pool.acquire() as conn, conn.transaction():
            submissions = await _insert_or_find_in_flight(
                conn, [(i.event, i.accepted_at, i.expected_completion_at) for i in items]
            )
            created = [
                (item.event, item.traceparent)
                for item, submission in zip(items, submissions, strict=True)
                if submission.created
            ]
            if created:
                await write_traced_outbox(conn, created)
        return submissions

    async def _claim_idempotency_key(
        self, conn: Connection, event: VerificationRequested, key: tuple[str, bytes]
    ) -> Submission | None:
        claimed = await conn.fetchval(
            "INSERT INTO idempotency_keys (employer_id, key, body_hash, request_id) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            event.employer_id,
            key[0],
            key[1],
            event.request_id,
        )
        if claimed:
            return None
        earlier = await conn.fetchrow(
            "SELECT body_hash, request_id, created FROM idempotency_keys "
            "WHERE employer_id = $1 AND key = $2",
            event.employer_id,
            key[0],
        )
        assert earlier is not None
        if earlier["body_hash"] != key[1]:
            raise IdempotencyKeyReused()
        original = await self.get(event.employer_id, earlier["request_id"], conn)
        assert original is not None
        return Submission(original, created=earlier["created"])

    async def get(
        self, employer_id: UUID, request_id: UUID, conn: Connection | None = None
    ) -> RequestRecord | None:
        row = await (conn or self._pool).fetchrow(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE id = $1 AND employer_id = $2",
            request_id,
            employer_id,
        )
        return None if row is None else _record(row)

    async def statement(self, employer_id: UUID, request_id: UUID) -> str | None:
        """The registry's signed statement of the employer's request, if its result has one."""
        found: str | None = await self._pool.fetchval(
            "SELECT statement FROM requests WHERE id = $1 AND employer_id = $2",
            request_id,
            employer_id,
        )
        return found

    async def find_in_flight(self, event: VerificationRequested) -> UUID | None:
        """The request a submission of `event` would return instead of creating one."""
        found: UUID | None = await self._pool.fetchval(
            "SELECT id FROM requests WHERE employer_id = $1 AND qualification_id = $2 "
            "AND certificate_number = $3 AND holder_ref = $4 "
            "AND status IN ('accepted', 'verifying')",
            *_in_flight_key(event),
        )
        return found

    async def list_requests(
        self, employer_id: UUID, where: RequestFilter, limit: int, after: PageCursor | None
    ) -> list[RequestRecord]:
        rows = await self._pool.fetch(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE employer_id = $1 "
            "AND ($2::text IS NULL OR status = $2) "
            "AND ($3::text IS NULL OR qualification_id = $3) "
            "AND ($4::text IS NULL OR region = $4) "
            "AND ($5::text IS NULL OR certificate_number = $5) "
            "AND ($6::timestamptz IS NULL OR accepted_at >= $6) "
            "AND ($7::timestamptz IS NULL OR accepted_at < $7) "
            "AND ($8::timestamptz IS NULL OR (accepted_at, id) < ($8, $9::uuid)) "
            "ORDER BY accepted_at DESC, id DESC LIMIT $10",
            employer_id,
            where.status,
            where.qualification_id,
            where.region,
            where.certificate_number,
            where.accepted_from,
            where.accepted_to,
            after.accepted_at if after else None,
            after.id if after else None,
            limit,
        )
        return [_record(row) for row in rows]

    async def submit_batch(
        self,
        employer_id: UUID,
        rows: Sequence[Prepared | Refusal],
        idempotency: tuple[str, bytes] | None,
        render: BatchRenderer,
        traceparent: str | None,
    ) -> dict[str, Any]:
        """Store every eligible row with its event in one transaction; return the rendered
        answer, or the stored answer of an earlier batch sent with the same key and body."""
        async with self._pool.acquire() as conn, conn.transaction():
            if idempotency is not None:
                earlier = await self._claim_batch_key(conn, employer_id, idempotency)
                if earlier is not None:
                    return earlier
            eligible = [row for row in rows if not isinstance(row, Refusal)]
            submissions = await _insert_or_find_in_flight(
                conn, [(r.event, r.accepted_at, r.expected_completion_at) for r in eligible]
            )
            stored = iter(submissions)
            results = [row if isinstance(row, Refusal) else next(stored) for row in rows]
            created = [
                row.event
                for row, submission in zip(eligible, submissions, strict=True)
                if submission.created
            ]
            if created:
                await write_outbox(conn, created, traceparent)
            answer = render(results)
            if idempotency is not None:
                await conn.execute(
                    "UPDATE idempotency_keys SET response = $3::jsonb "
                    "WHERE employer_id = $1 AND key = $2",
                    employer_id,
                    idempotency[0],
                    orjson.dumps(answer).decode(),
                )
            return answer

    async def _claim_batch_key(
        self, conn: Connection, employer_id: UUID, key: tuple[str, bytes]
    ) -> dict[str, Any] | None:
        claimed = await conn.fetchval(
            "INSERT INTO idempotency_keys (employer_id, key, body_hash, request_id, kind) "
            "VALUES ($1, $2, $3, $4, 'batch') ON CONFLICT DO NOTHING RETURNING true",
            employer_id,
            key[0],
            key[1],
            uuid4(),
        )
        if claimed:
            return None
        earlier = await conn.fetchrow(
            "SELECT body_hash, kind, response FROM idempotency_keys "
            "WHERE employer_id = $1 AND key = $2",
            employer_id,
            key[0],
        )
        assert earlier is not None
        if earlier["kind"] != "batch" or earlier["body_hash"] != key[1]:
            raise IdempotencyKeyReused()
        answer: dict[str, Any] = orjson.loads(earlier["response"])
        return answer

    async def observed_turnarounds(self, body_ids: Sequence[str]) -> dict[str, Observed]:
        """Re-read at most once a second per set of bodies (turnarounds move slowly and every
        request needs them); answers recorded by this process show at once."""
        key = tuple(sorted(set(body_ids)))
        cached = self._observed.get(key)
        if cached is not None and time.monotonic() - cached[0] < _OBSERVED_TTL_SECONDS:
            return cached[1]
        observed = await observations.observed_turnarounds(self._pool, key)
        if len(self._observed) > 10_000:
            self._observed.clear()
        self._observed[key] = (time.monotonic(), observed)
        return observed

    async def withdrawals(self, conn: Connection | None = None) -> list[WithdrawalRecord]:
        return await observations.withdrawals(conn or self._pool)

    async def apply_withdrawals(
        self, conn: Connection, events: Sequence[QualificationWithdrawn]
    ) -> None:
        """Inside the caller's transaction (the consumed batch's)."""
        for event in events:
            await observations.record_withdrawal(conn, event)

    async def apply_progress(
        self, conn: Connection, events: Sequence[VerificationProgressed]
    ) -> None:
        """A request the verifier has started on is `verifying`; late or repeated events
        change nothing (a decided request stays decided). Inside the caller's transaction."""
        in_flight = [s.value for s in IN_FLIGHT]
        await conn.executemany(
            _APPLY_PROGRESS,
            [
                (
                    event.request_id,
                    event.stage.value,
                    event.occurred_at,
                    event.expected_completion_at,
                    in_flight,
                )
                for event in events
            ],
        )

    async def apply_conclusions(
        self, conn: Connection, conclusions: Sequence[VerificationConcluded]
    ) -> bool:
        """Records outcomes (with the code and statement of an authentic one) and the bodies'
        answer times, inside the caller's transaction; a decided request stays as decided.
        True when answer times changed: call `forget_observed` once committed."""
        # One per request (the registry concludes each once): a single UPDATE for the batch.
        latest = {concluded.request_id: concluded for concluded in conclusions}
        rows = [
            (
                concluded.request_id,
                status_after_verdict(concluded.verdict).value,
                concluded.reason.model_dump_json(),
                orjson.dumps([c.model_dump(mode="json") for c in concluded.checks]).decode(),
                concluded.verification_code,
                concluded.decided_at,
                concluded.statement,
            )
            for concluded in latest.values()
        ]
        await conn.execute(_APPLY_VERDICTS, *_by_column(rows), [s.value for s in FINAL])
        contacts = [contact for concluded in conclusions for contact in concluded.contacts]
        await observations.record_contacts(conn, contacts, self._policy)
        return bool(contacts)

    def forget_observed(self) -> None:
        """New answer times are committed: the next estimate re-reads them."""
        self._observed.clear()


Row = tuple[VerificationRequested, datetime, datetime]  # event, accepted at, expected at


async def _insert_or_find_in_flight(conn: Connection, rows: Sequence[Row]) -> list[Submission]:
    """Stores each request, in one INSERT for them all; a request identical to one in flight
    (stored before, or earlier in `rows`) is not stored, and that one is returned instead."""
    if not rows:
        return []
    inserted = {
        row["id"]: _record(row) for row in await conn.fetch(_INSERT_REQUESTS, *_columns(rows))
    }
    others = [event for event, _, _ in rows if event.request_id not in inserted]
    in_flight = await _in_flight(conn, others) if others else {}
    return [
        Submission(inserted[event.request_id], created=True)
        if event.request_id in inserted
        else Submission(in_flight[_in_flight_key(event)], created=False)
        for event, _, _ in rows
    ]


async def _in_flight(
    conn: Connection, events: Sequence[VerificationRequested]
) -> dict[tuple[object, ...], RequestRecord]:
    keys = [_in_flight_key(event) for event in events]
    found = await conn.fetch(_SELECT_IN_FLIGHT, *_by_column(keys))
    records: dict[tuple[object, ...], RequestRecord] = {}
    for row in found:
        values = dict(row)
        holder_ref = values.pop("in_flight_ref")
        record = _record(values)
        key = (record.employer_id, record.qualification_id, record.certificate_number, holder_ref)
        records[key] = record
    return records


def _columns(rows: Sequence[Row]) -> list[list[object]]:
    """The requests' values, column by column (for `unnest`)."""
    return _by_column([_request_values(event, acc, expected) for event, acc, expected in rows])


def _by_column(rows: Sequence[tuple[object, ...]]) -> list[list[object]]:
    """Rows of equal length as one list per column (what `unnest` takes)."""
    return [list(column) for column in zip(*rows, strict=True)]


def _request_values(
    event: VerificationRequested, accepted_at: datetime, expected: datetime
) -> tuple[object, ...]:
    return (
        event.request_id,
        event.employer_id,
        event.qualification_id,
        ",".join(event.body_ids),  # body ids are slugs: unnest cannot take an array per row
        event.region,
        event.holder.name,
        event.holder.name_zh,
        event.holder.nationality,
        event.holder.holder_ref,
        event.certificate.number,
        event.certificate.issued_on,
        event.certificate.expires_on,
        orjson.dumps(event.certificate.channel_fields).decode(),
        Status.ACCEPTED.value,
        accepted_at,
        expected,
    )


def _in_flight_key(event: VerificationRequested) -> tuple[object, ...]:
    return (
        event.employer_id,
        event.qualification_id,
        event.certificate.number,
        event.holder.holder_ref,
    )


_INSERT_REQUESTS = f"""
INSERT INTO requests (
    id, employer_id, qualification_id, body_ids, region, holder_name, holder_name_zh,
    nationality, holder_ref, certificate_number, issued_on, expires_on, channel_fields,
    status, accepted_at, expected_completion_at, history
)
SELECT r.id, r.employer_id, r.qualification_id, string_to_array(r.body_ids, ','), r.region,
    r.holder_name, r.holder_name_zh, r.nationality, r.holder_ref, r.certificate_number,
    r.issued_on, r.expires_on, r.channel_fields::jsonb, r.status, r.accepted_at,
    r.expected_completion_at,
    jsonb_build_array(jsonb_build_object('status', r.status, 'at', r.accepted_at))
FROM unnest(
    $1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::date[], $12::date[], $13::text[], $14::text[],
    $15::timestamptz[], $16::timestamptz[]
) AS r(
    id, employer_id, qualification_id, body_ids, region, holder_name, holder_name_zh,
    nationality, holder_ref, certificate_number, issued_on, expires_on, channel_fields,
    status, accepted_at, expected_completion_at
)
ORDER BY r.accepted_at
ON CONFLICT (employer_id, qualification_id, certificate_number, holder_ref)
    WHERE status IN ('accepted', 'verifying') DO NOTHING
RETURNING {_REQUEST_COLUMNS}
"""

_SELECT_IN_FLIGHT = f"""
SELECT holder_ref AS in_flight_ref, {_REQUEST_COLUMNS} FROM requests
WHERE (employer_id, qualification_id, certificate_number, holder_ref) IN (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]))
  AND status IN ('accepted', 'verifying')
"""
_APPLY_VERDICTS = """
UPDATE requests r
SET status = v.status, reason = v.reason::jsonb, checks = v.checks::jsonb,
    verification_code = v.code, decided_at = v.decided_at, statement = v.statement,
    updated_at = now(),
    history = r.history || jsonb_build_array(
        jsonb_build_object('status', v.status, 'at', v.decided_at))
FROM unnest(
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[]
) AS v(id, status, reason, checks, code, decided_at, statement)
WHERE r.id = v.id AND NOT (r.status = ANY($8::text[]))
"""

_APPLY_PROGRESS = """
UPDATE requests
SET status = 'verifying', stage = $2, verifying_at = coalesce(verifying_at, $3),
    verifier_expected_at = coalesce($4, verifier_expected_at), updated_at = now(),
    history = history || jsonb_build_array(
        jsonb_build_object('status', 'verifying', 'stage', $2::text, 'at', $3::timestamptz))
WHERE id = $1 AND status = ANY($5::text[])
"""
