"""The console's projection of the flow of verifications (migration 003): what the events say
about each request, stored idempotently whatever their order, and read back for the pages.

Never a document or certificate number: the events' certificate and holder reference are not
kept. The holder's name is kept masked, and sealed for the audited opening of one request.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.console.domain.catalogue_watch import Usage, Withdrawal
from services.console.domain.flow import (
    FUNNEL,
    BodyFigures,
    FlowStage,
    FunnelCounts,
    HopFigures,
    Note,
    Percentiles,
    RequestFlow,
)
from services.console.domain.holder_name import mask_name
from services.console.store.sealed_names import NameBox
from services.contracts.events import (
    BodyContact,
    Event,
    HolderClaim,
    OutcomePublished,
    QualificationWithdrawn,
    VerdictReached,
    VerificationConcluded,
    VerificationProgressed,
    VerificationRequested,
)
from services.runtime.db import Connection


def _queries(directory: Path) -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(directory.glob("*.sql"))}


SQL = _queries(Path(__file__).parent / "sql" / "projection")


@dataclass(frozen=True)
class HistoryEntry:
    kind: str  # requested, progressed, decided, concluded, notified
    stage: str | None
    occurred_at: datetime
    expected_completion_at: datetime | None
    note: Note | None


@dataclass(frozen=True)
class Contact:
    """How long one awarding body took to answer this request."""

    body_id: str
    channel: str
    seconds: float
    decided_at: datetime


@dataclass(frozen=True)
class RequestDetail:
    flow: RequestFlow
    employer_id: UUID | None
    holder_name_masked: str | None
    sealed_name: str | None  # opened only through `OpenRequest`, which audits it
    reason: Note | None
    checks: list[dict[str, str]]
    contacts: list[Contact]
    history: list[HistoryEntry]


class Projection:
    def __init__(self, pool: asyncpg.Pool, names: NameBox) -> None:
        self._pool = pool
        self._names = names

    # ------------------------------------------------------------------ writing

    async def apply(self, events: Sequence[Event]) -> None:
        """Stores `events` in a transaction of their own."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self.record(conn, events)

    async def record(self, conn: Connection, events: Sequence[Event]) -> None:
        """Stores a consumed batch in `conn`'s transaction; each kind idempotently. The
        verifier's verdict and the registry's conclusion carry the same decision: whichever
        comes first records it."""
        requested = [e for e in events if isinstance(e, VerificationRequested)]
        progress = [e for e in events if isinstance(e, VerificationProgressed)]
        verdicts = [e for e in events if isinstance(e, VerdictReached | VerificationConcluded)]
        outcomes = [e for e in events if isinstance(e, OutcomePublished)]
        withdrawals = [e for e in events if isinstance(e, QualificationWithdrawn)]
        if requested:
            await conn.executemany(SQL["record_requested"], [self._requested(e) for e in requested])
        if progress:
            await conn.executemany(SQL["record_progress"], [_progress(e) for e in progress])
        if verdicts:
            await conn.executemany(SQL["record_verdict"], [_verdict(e) for e in verdicts])
            contacts = [_contact(e, c) for e in verdicts for c in e.contacts]
            if contacts:
                await conn.executemany(SQL["record_contact"], contacts)
        if outcomes:
            await conn.executemany(SQL["record_outcome"], [_outcome(e) for e in outcomes])
        history = [row for e in events if (row := _history(e)) is not None]
        if history:
            await conn.executemany(SQL["record_history"], history)
        if withdrawals:
            await conn.executemany(SQL["record_withdrawal"], [_withdrawal(e) for e in withdrawals])

    def _requested(self, event: VerificationRequested) -> tuple[Any, ...]:
        name = _display_name(event.holder)
        return (
            event.request_id,
            event.employer_id,
            event.region,
            event.qualification_id,
            list(event.body_ids),
            mask_name(name),
            self._names.seal(name, event.request_id),
            event.occurred_at,
        )

    # ------------------------------------------------------------------ reading

    async def accepted_since(self, since: datetime, limit: int) -> list[RequestFlow]:
        rows = await self._pool.fetch(SQL["flows_accepted_since"], since, limit)
        return [_flow(row) for row in rows]

    async def unfinished(self, limit: int) -> list[RequestFlow]:
        rows = await self._pool.fetch(SQL["flows_unfinished"], limit)
        return [_flow(row) for row in rows]

    async def funnel(self, since: datetime) -> FunnelCounts:
        row = await self._pool.fetchrow(SQL["flow_funnel"], since)
        assert row is not None  # an aggregate always has its row
        reached = {stage: row[f"{stage}_reached"] for stage in FUNNEL}
        later: dict[FlowStage, int] = {stage: row[f"{stage}_now"] for stage in FUNNEL[1:]}
        current = {FlowStage.ACCEPTED: reached[FlowStage.ACCEPTED] - sum(later.values()), **later}
        return FunnelCounts(reached, current)

    async def hops(self, since: datetime, until: datetime) -> list[HopFigures]:
        rows = await self._pool.fetch(SQL["flow_hops"], since, until)
        return [
            HopFigures(
                FlowStage(row["source"]),
                FlowStage(row["target"]),
                row["completed"],
                Percentiles(*row["latency"]),
            )
            for row in rows
        ]

    async def bodies(self, since: datetime) -> list[BodyFigures]:
        rows = await self._pool.fetch(SQL["flow_bodies"], since)
        return [
            BodyFigures(row["body_id"], row["channel"], row["answers"], row["p50"], row["p90"])
            for row in rows
        ]

    async def arrivals(
        self, since: datetime, slot_seconds: int
    ) -> dict[tuple[FlowStage, int], int]:
        """Arrivals at each stage per slot (epoch seconds // `slot_seconds`)."""
        rows = await self._pool.fetch(SQL["flow_arrivals"], since, slot_seconds)
        return {(FlowStage(row["stage"]), row["slot"]): row["arrived"] for row in rows}

    async def request(self, request_id: UUID) -> RequestDetail | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(SQL["request_detail"], request_id)
            if row is None:
                return None
            history = await conn.fetch(SQL["request_history"], request_id)
            contacts = await conn.fetch(SQL["request_contacts"], request_id)
        return RequestDetail(
            flow=_flow(row),
            employer_id=row["employer_id"],
            holder_name_masked=row["holder_name_masked"],
            sealed_name=row["holder_name_sealed"],
            reason=_note(row["reason"]),
            checks=orjson.loads(row["checks"]) if row["checks"] else [],
            contacts=[
                Contact(c["body_id"], c["channel"], c["seconds"], c["decided_at"]) for c in contacts
            ],
            history=[
                HistoryEntry(
                    h["kind"],
                    h["stage"],
                    h["occurred_at"],
                    h["expected_completion_at"],
                    _note(h["note"]),
                )
                for h in history
            ],
        )

    async def forget_names(self, accepted_before: datetime) -> int:
        """Drops the sealed names of requests accepted before then; how many it dropped."""
        status = await self._pool.execute(SQL["forget_names"], accepted_before)
        return int(status.rsplit(" ", 1)[-1])

    def unseal_name(self, detail: RequestDetail) -> str | None:
        if detail.sealed_name is None:
            return None
        return self._names.unseal(detail.sealed_name, detail.flow.request_id)

    async def usage(self) -> list[Usage]:
        async with self._pool.acquire() as conn:
            totals = await conn.fetch(SQL["usage_by_qualification"])
            by_region = await conn.fetch(SQL["usage_by_region"])
        regions: dict[str, dict[str, int]] = {}
        for row in by_region:
            regions.setdefault(row["qualification_id"], {})[row["region"]] = row["requests"]
        return [
            Usage(
                qualification_id=row["qualification_id"],
                requests=row["requests"],
                decided=row["decided"],
                authentic=row["authentic"],
                regions=regions.get(row["qualification_id"], {}),
                last_requested_at=row["last_requested_at"],
            )
            for row in totals
        ]

    async def withdrawals(self) -> dict[str, Withdrawal]:
        rows = await self._pool.fetch(SQL["withdrawals"])
        return {
            row["qualification_id"]: Withdrawal(
                row["qualification_id"], "", row["withdrawn_on"], row["reason"]
            )
            for row in rows
        }

    async def observed_since(self) -> datetime | None:
        value = await self._pool.fetchval(SQL["observed_since"])
        return value if isinstance(value, datetime) else None


_CODE_ISSUED = {"zh": "登记机构已签发核验码", "en": "The registry issued the verification code"}


def _display_name(holder: HolderClaim) -> str:
    return f"{holder.name} / {holder.name_zh}" if holder.name_zh else holder.name


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def _progress(event: VerificationProgressed) -> tuple[Any, ...]:
    note = _json(event.note.model_dump()) if event.note else None
    return (
        event.request_id,
        event.employer_id,
        event.stage.value,
        event.occurred_at,
        event.expected_completion_at,
        note,
    )


Decision = VerdictReached | VerificationConcluded


def _verdict(event: Decision) -> tuple[Any, ...]:
    return (
        event.request_id,
        event.employer_id,
        event.region,
        event.qualification_id,
        event.verdict.value,
        _json(event.reason.model_dump()),
        _json([c.model_dump(mode="json") for c in event.checks]),
        event.decided_at,
    )


def _contact(event: Decision, contact: BodyContact) -> tuple[Any, ...]:
    return (event.request_id, contact.body_id, contact.channel, contact.seconds, event.decided_at)


def _outcome(event: OutcomePublished) -> tuple[Any, ...]:
    return (
        event.request_id,
        event.region,
        event.qualification_id,
        event.verdict.value,
        event.decided_at,
        event.occurred_at,
    )


def _history(event: Event) -> tuple[Any, ...] | None:
    if isinstance(event, VerificationRequested):
        return (event.event_id, event.request_id, "requested", None, event.occurred_at, None, None)
    if isinstance(event, VerificationProgressed):
        note = _json(event.note.model_dump()) if event.note else None
        return (
            event.event_id,
            event.request_id,
            "progressed",
            event.stage.value,
            event.occurred_at,
            event.expected_completion_at,
            note,
        )
    if isinstance(event, VerdictReached):
        reason = _json(event.reason.model_dump())
        return (
            event.event_id,
            event.request_id,
            "decided",
            event.verdict.value,
            event.decided_at,
            None,
            reason,
        )
    if isinstance(event, VerificationConcluded):
        return (
            event.event_id,
            event.request_id,
            "concluded",
            event.verdict.value,
            event.occurred_at,
            None,
            _json(_CODE_ISSUED) if event.verification_code else None,
        )
    if isinstance(event, OutcomePublished):
        return (
            event.event_id,
            event.request_id,
            "notified",
            event.verdict.value,
            event.occurred_at,
            None,
            None,
        )
    return None


def _withdrawal(event: QualificationWithdrawn) -> tuple[Any, ...]:
    return (
        event.qualification_id,
        event.edition_id,
        event.withdrawn_on,
        event.reason,
        event.occurred_at,
    )


def _note(text: str | None) -> Note | None:
    if not text:
        return None
    value = orjson.loads(text)
    return Note(zh=value.get("zh", ""), en=value.get("en", ""))


def _flow(row: asyncpg.Record) -> RequestFlow:
    return RequestFlow(
        request_id=row["request_id"],
        qualification_id=row["qualification_id"],
        region=row["region"],
        body_ids=tuple(row["body_ids"] or ()),
        accepted_at=row["accepted_at"],
        waiting_at=row["waiting_at"],
        parked_at=row["parked_at"],
        decided_at=row["decided_at"],
        notified_at=row["notified_at"],
        stage=row["stage"],
        stage_note=_note(row["stage_note"]),
        expected_completion_at=row["expected_completion_at"],
        verdict=row["verdict"],
    )
