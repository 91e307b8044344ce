"""The catalogue as the registry's system of record: editions, awarding bodies, qualifications
and withdrawals in PostgreSQL. Nothing is deleted; a withdrawal is a row of its own, written
in one transaction with the `QualificationWithdrawn` event that announces it.

The pure search (`services.reference.catalogue.search`) runs over a `Catalogue` rebuilt from
these tables; it is rebuilt whenever the number of withdrawals changes.
"""

import logging
from datetime import date
from typing import Any

import asyncpg
import orjson

from services.contracts.events import QualificationWithdrawn
from services.reference.catalogue.model import Catalogue, Qualification
from services.registry.domain.errors import AlreadyWithdrawn, InvalidField, NotFound
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox

log = logging.getLogger(__name__)

_REPLACED_TITLE = "北京市国际职业资格认可目录(1.0 版)"


class CatalogueStore:
    INSERT_EDITION = (
        "INSERT INTO editions (id, title_zh, document_number, effective_from, replaces, "
        "replaced_on, document) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) "
        "ON CONFLICT (id) DO NOTHING"
    )
    MARK_REPLACED = "UPDATE editions SET replaced_on = $2 WHERE id = $1 AND replaced_on IS NULL"
    INSERT_BODY = (
        "INSERT INTO awarding_bodies (id, name, aliases, country) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (id) DO NOTHING"
    )
    INSERT_QUALIFICATION = (
        "INSERT INTO qualifications (edition_id, id, name, body_ids, fields, document) "
        "VALUES ($1, $2, $3, $4, $5, $6::jsonb) ON CONFLICT (edition_id, id) DO NOTHING"
    )
    CURRENT_EDITION = (
        "SELECT id, document FROM editions WHERE replaced_on IS NULL "
        "ORDER BY effective_from DESC NULLS LAST LIMIT 1"
    )
    WITHDRAWALS_VERSION = "SELECT count(*) FROM qualification_withdrawals"
    INSERT_WITHDRAWAL = (
        "INSERT INTO qualification_withdrawals (edition_id, qualification_id, withdrawn_on, "
        "reason, withdrawn_by) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (edition_id, qualification_id) DO NOTHING RETURNING id"
    )

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._cached: tuple[int, Catalogue] | None = None
        self._loaded: Catalogue | None = None

    @property
    def loaded(self) -> Catalogue:
        """The edition this process loaded at its start, as the file has it (no withdrawals):
        enough to say which qualifications exist and who awards them, with no round trip."""
        if self._loaded is None:
            raise RuntimeError("no catalogue edition loaded")
        return self._loaded

    async def load(self, catalogue: Catalogue) -> None:
        """Writes an edition file into the tables; rows already there are left as they are."""
        edition = catalogue.edition
        async with self._pool.acquire() as conn, conn.transaction():
            if edition.replaces:
                await conn.execute(
                    self.INSERT_EDITION,
                    edition.replaces,
                    _REPLACED_TITLE,
                    None,
                    None,
                    None,
                    edition.effective_from,
                    _json({"replaced_by": edition.id, "repealed": edition.replaces_document}),
                )
                await conn.execute(self.MARK_REPLACED, edition.replaces, edition.effective_from)
            document = {
                "edition": edition.model_dump(mode="json"),
                "lists": [lst.model_dump(mode="json") for lst in catalogue.lists],
            }
            await conn.execute(
                self.INSERT_EDITION,
                edition.id,
                edition.title_zh,
                edition.document_number,
                edition.effective_from,
                edition.replaces,
                None,
                _json(document),
            )
            await conn.executemany(
                self.INSERT_BODY,
                [(b.id, b.name, list(b.aliases), b.country) for b in catalogue.bodies],
            )
            await conn.executemany(
                self.INSERT_QUALIFICATION,
                [_qualification_row(edition.id, q) for q in catalogue.qualifications],
            )
        self._loaded = catalogue
        log.info(
            "catalogue loaded",
            extra={"edition": edition.id, "qualifications": len(catalogue.qualifications)},
        )

    async def current(self) -> Catalogue:
        """The edition in force, with its withdrawals (rebuilt only when they changed)."""
        version = int(await self._pool.fetchval(self.WITHDRAWALS_VERSION))
        if self._cached is None or self._cached[0] != version:
            async with self._pool.acquire() as conn:
                self._cached = (version, await _read_catalogue(conn))
        return self._cached[1]

    async def withdraw(
        self, qualification_id: str, on: date, reason: str, by: str
    ) -> Qualification:
        """Records the withdrawal and its event together; refuses a second withdrawal."""
        catalogue = await self.current()
        edition_id = catalogue.edition.id
        if qualification_id not in {q.id for q in catalogue.qualifications}:
            raise NotFound("no such qualification in the catalogue", "目录中没有该职业资格")
        if on < catalogue.edition.effective_from:
            raise InvalidField(
                "withdrawn_on",
                f"must not precede the edition's effective date {catalogue.edition.effective_from}",
                f"不得早于本版目录生效日期 {catalogue.edition.effective_from}",
            )
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                self.INSERT_WITHDRAWAL, edition_id, qualification_id, on, reason, by
            )
            if inserted is None:
                raise AlreadyWithdrawn(
                    "this qualification was already withdrawn", "该职业资格已被移出目录"
                )
            event = QualificationWithdrawn(
                qualification_id=qualification_id,
                edition_id=edition_id,
                withdrawn_on=on,
                reason=reason,
            )
            await write_outbox(conn, [event])
        log.info("qualification withdrawn", extra={"qualification_id": qualification_id})
        return (await self.current()).qualification(qualification_id)


async def _read_catalogue(conn: Connection) -> Catalogue:
    edition = await conn.fetchrow(CatalogueStore.CURRENT_EDITION)
    if edition is None:
        raise RuntimeError("no catalogue edition loaded")
    document = orjson.loads(edition["document"])
    bodies = await conn.fetch("SELECT id, name, aliases, country FROM awarding_bodies")
    rows = await conn.fetch(
        "SELECT q.document, w.withdrawn_on, w.reason FROM qualifications q "
        "LEFT JOIN qualification_withdrawals w "
        "ON w.edition_id = q.edition_id AND w.qualification_id = q.id "
        "WHERE q.edition_id = $1",
        edition["id"],
    )
    used = {b for row in rows for b in orjson.loads(row["document"])["body_ids"]}
    return Catalogue.model_validate(
        {
            "edition": document["edition"],
            "lists": document["lists"],
            "bodies": [
                {"id": b["id"], "name": b["name"], "aliases": b["aliases"], "country": b["country"]}
                for b in bodies
                if b["id"] in used
            ],
            "qualifications": [_with_withdrawal(row) for row in rows],
        }
    )


def _with_withdrawal(row: asyncpg.Record) -> dict[str, Any]:
    qualification: dict[str, Any] = orjson.loads(row["document"])
    if row["withdrawn_on"] is not None:
        qualification["withdrawal"] = {"date": row["withdrawn_on"], "reason": row["reason"]}
    return qualification


def _qualification_row(edition_id: str, q: Qualification) -> tuple[object, ...]:
    document = q.model_dump(mode="json", exclude={"withdrawal"})
    return (edition_id, q.id, q.name, list(q.body_ids), list(q.fields), _json(document))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
