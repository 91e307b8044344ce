"""What intake learns from other services' events: body turnaround times and withdrawals."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from services.contracts.events import BodyContact, QualificationWithdrawn
from services.intake.domain.turnaround import Observed, TurnaroundPolicy, observe
from services.runtime.db import Connection


@dataclass(frozen=True)
class WithdrawalRecord:
    qualification_id: str
    withdrawn_on: date
    reason: str


async def record_contacts(
    conn: Connection, contacts: Sequence[BodyContact], policy: TurnaroundPolicy
) -> None:
    """Fold answer times into each body's figure, inside the caller's transaction.

    Rows are created first and then locked in body order, so concurrent consumers serialise
    per body without losing a sample or deadlocking.
    """
    if not contacts:
        return
    bodies = sorted({c.body_id for c in contacts})
    await conn.executemany(
        "INSERT INTO body_turnaround (body_id, mean_seconds, samples) VALUES ($1, 0, 0) "
        "ON CONFLICT DO NOTHING",
        [(body,) for body in bodies],
    )
    rows = await conn.fetch(
        "SELECT body_id, mean_seconds, samples FROM body_turnaround "
        "WHERE body_id = ANY($1::text[]) ORDER BY body_id FOR UPDATE",
        bodies,
    )
    figures = {row["body_id"]: Observed(row["mean_seconds"], row["samples"]) for row in rows}
    for contact in contacts:
        figures[contact.body_id] = observe(figures[contact.body_id], contact.seconds, policy)
    await conn.executemany(
        "UPDATE body_turnaround SET mean_seconds = $2, samples = $3, updated_at = now() "
        "WHERE body_id = $1",
        [(body, figures[body].mean_seconds, figures[body].samples) for body in bodies],
    )


async def observed_turnarounds(
    conn: Connection | asyncpg.Pool, body_ids: Sequence[str]
) -> dict[str, Observed]:
    rows = await conn.fetch(
        "SELECT body_id, mean_seconds, samples FROM body_turnaround "
        "WHERE body_id = ANY($1::text[]) AND samples > 0",
        list(body_ids),
    )
    return {row["body_id"]: Observed(row["mean_seconds"], row["samples"]) for row in rows}


async def record_withdrawal(conn: Connection, event: QualificationWithdrawn) -> None:
    await conn.execute(
        "INSERT INTO catalogue_withdrawals "
        "(qualification_id, edition_id, withdrawn_on, reason, event_id) "
        "VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (qualification_id) DO UPDATE SET edition_id = EXCLUDED.edition_id, "
        "withdrawn_on = EXCLUDED.withdrawn_on, reason = EXCLUDED.reason, "
        "event_id = EXCLUDED.event_id, recorded_at = now()",
        event.qualification_id,
        event.edition_id,
        event.withdrawn_on,
        event.reason,
        event.event_id,
    )


async def withdrawals(conn: Connection | asyncpg.Pool) -> list[WithdrawalRecord]:
    rows = await conn.fetch(
        "SELECT qualification_id, withdrawn_on, reason FROM catalogue_withdrawals"
    )
    return [WithdrawalRecord(**dict(row)) for row in rows]
