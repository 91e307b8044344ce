"""The repository of verification codes. asyncpg prepares and caches each statement per
connection, so every query below is planned once per pooled connection."""

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.registry.domain.codes import VerificationCode, generate_code, parse_code
from services.registry.domain.statements import Issuer, verification_claims
from services.registry.domain.verifications import (
    HolderCursor,
    Issued,
    IssueRequest,
    Region,
    Verification,
    ensure_same_verification,
)
from services.registry.store.keys import SigningKeys
from services.runtime.db import Connection
from services.runtime.notifications import Notifications

log = logging.getLogger(__name__)

_COLUMNS = (
    "request_id, code, qualification_id, body_ids, holder_ref, holder_name, region, "
    "employer_id, verified_at, revoked_at, revocation_reason, created_at, status_list_index, "
    "statement"
)
# Two codes out of 2**80 colliding is astronomically unlikely; repeated collisions mean a bug.
_CODE_ATTEMPTS = 5


REVOCATIONS_CHANNEL = "registry_code_revoked"
_CACHED_CODES = 20_000  # a statement is ~2 KB: about 40 MB at most


class CodeCollisionError(RuntimeError):
    """Several freshly generated codes in a row were already taken: the generator is broken."""


class CodeRepository:
    # One statement for a batch; body_ids travel as JSON (unnest would flatten a text[][]).
    # ON CONFLICT without a target: an existing request id, or a code drawn twice, skips.
    INSERT_ALL = (
        "INSERT INTO verification_codes (request_id, code, qualification_id, body_ids, "
        "holder_ref, holder_name, region, employer_id, verified_at) "
        "SELECT r, c, q, ARRAY(SELECT jsonb_array_elements_text(b)), h, n, g, e, v "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], "
        "$7::text[], $8::text[], $9::timestamptz[]) AS t(r, c, q, b, h, n, g, e, v) "
        f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}"
    )
    BY_REQUEST_IDS = f"SELECT {_COLUMNS} FROM verification_codes WHERE request_id = ANY($1)"
    SET_STATEMENTS = (
        "UPDATE verification_codes SET statement = s.statement "
        "FROM unnest($1::uuid[], $2::text[]) AS s(request_id, statement) "
        "WHERE verification_codes.request_id = s.request_id"
    )
    BY_REQUEST_ID = f"SELECT {_COLUMNS} FROM verification_codes WHERE request_id = $1"
    BY_CODE = f"SELECT {_COLUMNS} FROM verification_codes WHERE code = $1"
    REVOKE = (
        "WITH revoked AS (UPDATE verification_codes "
        "SET revoked_at = $2, revocation_reason = $3, revoked_by = $4 "
        f"WHERE code = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}) "
        f"SELECT revoked.*, pg_notify('{REVOCATIONS_CHANNEL}', revoked.code) FROM revoked"
    )
    BY_HOLDER = (
        f"SELECT {_COLUMNS} FROM verification_codes WHERE holder_ref = $1 "
        "AND ($2::timestamptz IS NULL OR (verified_at, request_id) > ($2, $3::uuid)) "
        "ORDER BY verified_at, request_id LIMIT $4"
    )
    REVOKED_INDEXES = (
        "SELECT status_list_index FROM verification_codes "
        "WHERE revoked_at IS NOT NULL AND status_list_index IS NOT NULL"
    )

    def __init__(
        self,
        pool: asyncpg.Pool,
        new_code: Callable[[], VerificationCode] = generate_code,
        signer: SigningKeys | None = None,
        issuer: Issuer | None = None,
    ) -> None:
        self._pool = pool
        self._new_code = new_code
        self._signer = signer
        self._issuer = issuer or Issuer("http://127.0.0.1:8084")
        # Lookups by code dominate and a code changes only when revoked, so known codes are
        # answered from memory; every replica evicts a revoked code (see follow_revocations).
        self._by_code: OrderedDict[str, Verification] = OrderedDict()

    async def issue(self, request: IssueRequest) -> Issued:
        """Records one verification in its own transaction (see `issue_all`)."""
        async with self._pool.acquire() as conn, conn.transaction():
            return (await self.issue_all(conn, [request]))[request.request_id]

    async def issue_all(
        self, conn: Connection, requests: Sequence[IssueRequest]
    ) -> dict[UUID, Issued]:
        """Records each verification once, signed, inside the caller's transaction; a retry
        or a concurrent twin gets the code already issued. A few statements per batch."""
        issued: dict[UUID, Issued] = {}
        wanted = {request.request_id: request for request in requests}
        for _ in range(_CODE_ATTEMPTS):
            inserted = await self._insert_all(conn, list(wanted.values()))
            issued |= {v.request_id: Issued(v, newly_issued=True) for v in inserted}
            for request_id in issued:
                wanted.pop(request_id, None)
            for existing in await self._existing(conn, list(wanted)):
                ensure_same_verification(existing, wanted.pop(existing.request_id))
                issued[existing.request_id] = Issued(existing, newly_issued=False)
            if not wanted:  # what is left lost its code to an issued one: draw again
                return issued
            log.warning("verification code collision; drawing another")
        raise CodeCollisionError(f"{_CODE_ATTEMPTS} generated codes in a row were already issued")

    async def _insert_all(
        self, conn: Connection, requests: Sequence[IssueRequest]
    ) -> list[Verification]:
        """Inserts the rows not there yet (by request id or by code) and signs their
        statements in-process with the current key, so no issued code lacks its statement."""
        if not requests:
            return []
        columns = list(zip(*(_insert_args(r, self._new_code()) for r in requests), strict=True))
        rows = await conn.fetch(self.INSERT_ALL, *columns)
        verifications = [_verification(row) for row in rows]
        if self._signer is None or not rows:
            return verifications
        statements = await self._signer.sign_all(
            conn,
            [
                verification_claims(v, row["status_list_index"], self._issuer)
                for v, row in zip(verifications, rows, strict=True)
            ],
        )
        await conn.execute(self.SET_STATEMENTS, [v.request_id for v in verifications], statements)
        return [
            replace(v, statement=statement)
            for v, statement in zip(verifications, statements, strict=True)
        ]

    async def _existing(self, conn: Connection, request_ids: list[UUID]) -> list[Verification]:
        if not request_ids:
            return []
        return [_verification(row) for row in await conn.fetch(self.BY_REQUEST_IDS, request_ids)]

    async def by_holder(
        self, holder_ref: str, limit: int, after: HolderCursor | None = None
    ) -> list[Verification]:
        """One holder's verifications, oldest first, after `after` (keyset pagination)."""
        rows = await self._pool.fetch(
            self.BY_HOLDER,
            holder_ref,
            after.verified_at if after else None,
            after.request_id if after else None,
            limit,
        )
        return [_verification(row) for row in rows]

    async def revoked_indexes(self) -> list[int]:
        return [int(row[0]) for row in await self._pool.fetch(self.REVOKED_INDEXES)]

    async def by_request_id(self, request_id: UUID) -> Verification | None:
        row = await self._pool.fetchrow(self.BY_REQUEST_ID, request_id)
        return None if row is None else _verification(row)

    async def by_code(self, code: VerificationCode) -> Verification | None:
        cached = self._by_code.get(code.compact)
        if cached is not None:
            return cached
        row = await self._pool.fetchrow(self.BY_CODE, code.compact)
        if row is None:
            return None
        verification = _verification(row)
        self._remember(code.compact, verification)
        return verification

    def _remember(self, compact: str, verification: Verification) -> None:
        self._by_code[compact] = verification
        if len(self._by_code) > _CACHED_CODES:
            self._by_code.popitem(last=False)

    def _forget(self, compact: str) -> None:
        self._by_code.pop(compact, None)

    def follow_revocations(self, notifications: Notifications) -> None:
        """Evicts codes revoked by any replica as PostgreSQL announces them. Revocations
        announced while nobody listened are missed, so the cache starts empty again on each
        (re)connect."""
        notifications.on(REVOCATIONS_CHANNEL, self._forget, resync=self._by_code.clear)

    async def revoke(
        self, code: VerificationCode, reason: str, at: datetime, by: str = "operator"
    ) -> Verification | None:
        """Revokes a valid code; None when there is no such code or it was already revoked.

        The status list is derived from the revoked rows, so this one update also flips the
        code's bit in the published list.
        """
        row = await self._pool.fetchrow(self.REVOKE, code.compact, at, reason, by)
        self._by_code.pop(code.compact, None)
        return None if row is None else _verification(row)

    async def ping(self) -> bool:
        return bool(await self._pool.fetchval("SELECT true", timeout=2))


def _insert_args(request: IssueRequest, code: VerificationCode) -> tuple[object, ...]:
    return (
        request.request_id,
        code.compact,
        request.qualification_id,
        orjson.dumps(request.body_ids).decode(),
        request.holder_ref,
        request.holder_name,
        request.region.value,
        request.employer_id,
        request.verified_at,
    )


def _verification(row: asyncpg.Record | Mapping[str, Any]) -> Verification:
    return Verification(
        request_id=row["request_id"],
        code=parse_code(row["code"]),
        qualification_id=row["qualification_id"],
        body_ids=tuple(row["body_ids"]),
        holder_ref=row["holder_ref"],
        holder_name=row["holder_name"],
        region=Region(row["region"]),
        employer_id=row["employer_id"],
        verified_at=row["verified_at"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        revocation_reason=row["revocation_reason"],
        status_list_index=row["status_list_index"],
        statement=row["statement"],
    )
