"""The repository of verification codes. asyncpg prepares and caches each statement per
connection, so every query below is planned once per pooled connection."""

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

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
from services.runtime.notifications import Notifications

log = logging.getLogger(__name__)

_COLUMNS = (
    "request_id, code, qualification_id, body_ids, holder_ref, holder_name, region, "
    "employer_id, verified_at, revoked_at, revocation_reason, created_at, status_list_index, "
    "statement"
)
_CODE_UNIQUE = "verification_codes_code_key"
# Two codes out of 2**80 colliding is astronomically unlikely; repeated collisions mean a bug.
_CODE_ATTEMPTS = 5


REVOCATIONS_CHANNEL = "registry_code_revoked"
_CACHED_CODES = 20_000  # a statement is ~2 KB: about 40 MB at most


class CodeCollisionError(RuntimeError):
    """Several freshly generated codes in a row were already taken: the generator is broken."""


class CodeRepository:
    INSERT = (
        "INSERT INTO verification_codes (request_id, code, qualification_id, body_ids, "
        "holder_ref, holder_name, region, employer_id, verified_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        f"ON CONFLICT (request_id) DO NOTHING RETURNING {_COLUMNS}"
    )
    BY_REQUEST_ID = f"SELECT {_COLUMNS} FROM verification_codes WHERE request_id = $1"
    BY_CODE = f"SELECT {_COLUMNS} FROM verification_codes WHERE code = $1"
    REVOKE = (
        "WITH revoked AS (UPDATE verification_codes "
        "SET revoked_at = $2, revocation_reason = $3, revoked_by = $4 "
        f"WHERE code = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}) "
        f"SELECT revoked.*, pg_notify('{REVOCATIONS_CHANNEL}', revoked.code) FROM revoked"
    )
    SET_STATEMENT = "UPDATE verification_codes SET statement = $2 WHERE request_id = $1"
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
        """Records the verification once; a retry or a concurrent twin gets the same code."""
        for _ in range(_CODE_ATTEMPTS):
            try:
                row = await self._insert(request)
            except asyncpg.UniqueViolationError as error:
                if error.constraint_name != _CODE_UNIQUE:
                    raise
                log.warning("verification code collision; drawing another")
                continue
            if row is not None:
                return Issued(_verification(row), newly_issued=True)
            existing = await self.by_request_id(request.request_id)
            if existing is None:
                raise RuntimeError("verification row vanished between insert and select")
            ensure_same_verification(existing, request)
            return Issued(existing, newly_issued=False)
        raise CodeCollisionError(f"{_CODE_ATTEMPTS} generated codes in a row were already issued")

    async def _insert(self, request: IssueRequest) -> asyncpg.Record | Mapping[str, Any] | None:
        """Inserts and signs in one transaction, so no issued code lacks its statement."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.INSERT, *_insert_args(request, self._new_code()))
            if row is None or self._signer is None:
                return row
            verification = _verification(row)
            claims = verification_claims(verification, row["status_list_index"], self._issuer)
            statement = await self._signer.sign(conn, claims)
            await conn.execute(self.SET_STATEMENT, request.request_id, statement)
            return {**dict(row), "statement": statement}

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
        list(request.body_ids),
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
