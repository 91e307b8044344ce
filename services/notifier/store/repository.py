"""PostgreSQL repository of the notifier: endpoints, e-mail recipients, request progress,
deliveries (webhooks and e-mails), processed events and the outbox."""

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import asyncpg

from services.contracts.events import (
    AccountMailRequested,
    EmployerWebhooksConfigured,
    OutcomePublished,
    Stage,
    VerdictReached,
    VerificationProgressed,
)
from services.notifier.domain.account_mail import QueuedAccountMail
from services.notifier.domain.messages import (
    COMPLETED,
    PROGRESSED,
    completed_payload,
    progressed_payload,
)
from services.notifier.domain.progress import (
    ACCEPTED,
    NotifiedProgress,
    after_notice,
    worth_notifying,
)
from services.runtime.batching import GroupCommit
from services.runtime.db import Connection
from services.runtime.email_address import InvalidEmailAddress, normalised_email
from services.runtime.outbox import write_outbox
from services.runtime.secret_box import SecretBox, is_sealed

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)

# Wakes the sender when a delivery becomes due; the payload names the schema.
DELIVERIES_CHANNEL = "deliveries"
WEBHOOK = "webhook"
EMAIL = "email"
# An account e-mail (services/notifier/domain/account_mail.py): its `url` is the sealed address,
# its payload keeps the link sealed; the employer's delivery log does not list it.
ACCOUNT_EMAIL = "account-email"


@dataclass(frozen=True)
class DueDelivery:
    webhook_id: str
    employer_id: UUID
    channel: str
    url: str
    # Sealed (SecretBox, bound to employer and URL); None: the endpoint was removed since.
    sealed_secret: str | None
    sealed_previous_secret: str | None
    payload: bytes
    attempts: int

    def sealed_secrets(self) -> list[str]:
        return [s for s in (self.sealed_secret, self.sealed_previous_secret) if s]


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as its employer sees it."""

    webhook_id: str
    request_id: UUID
    channel: str
    destination: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    replayed_at: datetime | None
    seq: int


class NotifierStore:
    def __init__(self, pool: asyncpg.Pool, *, secret_grace: timedelta = timedelta(hours=24)):
        self._pool = pool
        self._secret_grace = secret_grace
        self._delivered = GroupCommit[str, None](self._mark_delivered)

    async def _first_time(self, conn: Connection, event_id: UUID) -> bool:
        return bool(
            await conn.fetchval(
                "INSERT INTO processed_events (event_id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event_id,
            )
        )

    @contextlib.asynccontextmanager
    async def transaction(self, conn: Connection | None = None) -> AsyncIterator[Connection]:
        """The caller's transaction when it passes one, else a new one of our own."""
        if conn is not None:
            yield conn
            return
        async with self._pool.acquire() as own, own.transaction():
            yield own

    async def accept_verdict(
        self, verdict: VerdictReached, traceparent: str | None, within: Connection | None = None
    ) -> None:
        """Queue the notifications and the regional outcome, once per event."""
        async with self.transaction(within) as conn:
            if not await self._first_time(conn, verdict.event_id):
                return
            await conn.execute(
                "INSERT INTO request_progress (request_id, stage, finished, updated_at) "
                "VALUES ($1, $2, true, $3) ON CONFLICT (request_id) DO UPDATE "
                "SET finished = true, updated_at = EXCLUDED.updated_at",
                verdict.request_id,
                ACCEPTED.stage.value,
                verdict.decided_at,
            )
            await _queue(
                conn,
                verdict.event_id,
                verdict.employer_id,
                verdict.request_id,
                COMPLETED,
                completed_payload(verdict),
            )
            await write_outbox(conn, [outcome_of(verdict)], traceparent)

    async def accept_progress(
        self, event: VerificationProgressed, within: Connection | None = None
    ) -> bool:
        """Record a request's progress; queue notifications when it is worth telling.
        Returns whether notifications were queued. Progress after the verdict is ignored."""
        async with self.transaction(within) as conn:
            if not await self._first_time(conn, event.event_id):
                return False
            row = await conn.fetchrow(
                "SELECT stage, expected_completion_at, finished FROM request_progress "
                "WHERE request_id = $1 FOR UPDATE",
                event.request_id,
            )
            if row is not None and row["finished"]:
                return False
            last = ACCEPTED
            if row is not None:
                last = NotifiedProgress(Stage(row["stage"]), row["expected_completion_at"])
            expected = event.expected_completion_at
            notify = worth_notifying(last, event.stage, expected, event.occurred_at)
            baseline = after_notice(last, event.stage, expected, notify)
            await conn.execute(
                "INSERT INTO request_progress (request_id, stage, expected_completion_at, "
                "updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (request_id) DO UPDATE SET "
                "stage = $2, expected_completion_at = $3, updated_at = $4",
                event.request_id,
                baseline.stage.value,
                baseline.expected_completion_at,
                event.occurred_at,
            )
            if notify:
                payload = progressed_payload(event, last.expected_completion_at)
                await _queue(
                    conn, event.event_id, event.employer_id, event.request_id, PROGRESSED, payload
                )
            return notify

    async def accept_account_mail(
        self, event: AccountMailRequested, within: Connection | None = None
    ) -> None:
        """Queue an account e-mail, once per mail id (a redelivered or re-published event
        finds it queued already)."""
        async with self.transaction(within) as conn:
            queued = await conn.fetchval(
                "INSERT INTO deliveries (webhook_id, employer_id, request_id, url, payload, "
                "channel, event_type) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                "ON CONFLICT DO NOTHING RETURNING true",
                account_mail_id(event.mail_id),
                event.employer_id,
                event.mail_id,
                event.sealed_recipient,
                QueuedAccountMail.of(event).payload(),
                ACCOUNT_EMAIL,
                f"account.{event.kind.value}",
            )
            if queued:
                await _wake_sender(conn)

    async def configure_endpoints(
        self, event: EmployerWebhooksConfigured, within: Connection | None = None
    ) -> None:
        """Apply an employer's configuration unless a newer one is already stored. A changed
        secret is a rotation: the previous one keeps signing for the grace period."""
        async with self.transaction(within) as conn:
            if event.emails is not None:
                await _configure_emails(conn, event)
            newest = await conn.fetchval(
                "SELECT max(configured_at) FROM webhook_endpoints WHERE employer_id = $1",
                event.employer_id,
            )
            if newest is not None and newest > event.occurred_at:
                return
            await conn.execute(
                "DELETE FROM webhook_endpoints WHERE employer_id = $1 AND url <> ALL($2::text[])",
                event.employer_id,
                [e.url for e in event.endpoints],
            )
            grace_until = event.occurred_at + self._secret_grace
            await conn.executemany(
                _UPSERT_ENDPOINT,
                [
                    (event.employer_id, e.url, e.sealed_secret, event.occurred_at, grace_until)
                    for e in event.endpoints
                ],
            )

    async def seal_clear_secrets(self, box: SecretBox) -> int:
        """Start-up step after migration 003: seal the secrets stored in clear before, in place.
        Returns how many rows it sealed; 0 once done."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT employer_id, url, sealed_secret, sealed_previous_secret "
                "FROM webhook_endpoints WHERE NOT (sealed_secret LIKE 'v1.%' AND "
                "coalesce(sealed_previous_secret, 'v1.') LIKE 'v1.%') FOR UPDATE"
            )
            for row in rows:
                employer_id, url = row["employer_id"], row["url"]
                sealed = [
                    value
                    if value is None or is_sealed(value)
                    else box.seal(value, employer_id, url)
                    for value in (row["sealed_secret"], row["sealed_previous_secret"])
                ]
                await conn.execute(
                    "UPDATE webhook_endpoints SET sealed_secret = $3, sealed_previous_secret = $4 "
                    "WHERE employer_id = $1 AND url = $2",
                    employer_id,
                    url,
                    *sealed,
                )
        return len(rows)

    async def claim_due(
        self,
        limit: int,
        lease_seconds: float,
        in_flight: Mapping[UUID, int] | None = None,
        per_employer: int = 2**31 - 1,
    ) -> list[DueDelivery]:
        """Due deliveries, leased to this worker: oldest first per request and destination,
        taken round-robin across employers, no employer past `per_employer` deliveries in
        flight (counting its `in_flight` ones), so one slow employer cannot hold every slot."""
        busy = dict(in_flight or {})
        at_limit = [employer for employer, count in busy.items() if count >= per_employer]
        window = limit * min(per_employer, _WINDOW_TURNS)
        rows = await self._pool.fetch(
            _CLAIM_DUE,
            limit,
            lease_seconds,
            list(busy),
            list(busy.values()),
            per_employer,
            at_limit,
            window,
        )
        return [DueDelivery(**dict(row)) for row in rows]

    async def seconds_until_next_due(self) -> float | None:
        """Until the next delivery is due."""
        value = await self._pool.fetchval(_NEXT_DUE)
        return None if value is None else max(float(value), 0.0)

    async def mark_delivered(self, webhook_id: str) -> None:
        """Returns once stored; deliveries finishing together share one UPDATE."""
        await self._delivered.submit(webhook_id)

    async def _mark_delivered(self, webhook_ids: list[str]) -> list[None]:
        await self._pool.execute(
            "UPDATE deliveries SET status = 'delivered', delivered_at = now(), "
            "attempts = attempts + 1, last_error = NULL WHERE webhook_id = ANY($1::text[])",
            webhook_ids,
        )
        return [None] * len(webhook_ids)

    async def mark_failed_attempt(
        self, webhook_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        await self._pool.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = $2, "
            "status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END, "
            "next_attempt_at = coalesce($3, next_attempt_at) WHERE webhook_id = $1",
            webhook_id,
            error[:500],
            next_attempt_at,
        )

    async def list_deliveries(
        self,
        employer_id: UUID,
        *,
        status: str | None = None,
        request_id: UUID | None = None,
        limit: int = 50,
        before_seq: int | None = None,
    ) -> list[DeliveryView]:
        rows = await self._pool.fetch(
            _LIST_DELIVERIES, employer_id, status, request_id, before_seq, limit
        )
        return [_view(row) for row in rows]

    async def email_recipients(self, employer_id: UUID) -> list[str]:
        """The addresses the employer's notifications are e-mailed to (none configured: [])."""
        addresses = await self._pool.fetchval(
            "SELECT addresses FROM email_recipients WHERE employer_id = $1", employer_id
        )
        return list(addresses or [])

    async def replay(self, employer_id: UUID, webhook_id: str) -> DeliveryView | None:
        """Send a finished (failed or delivered) delivery again, with the same id; a pending
        one is left as it is. None when the employer has no such delivery."""
        async with self._pool.acquire() as conn, conn.transaction():
            replayed = await conn.fetchval(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = now(), "
                "replayed_at = now() WHERE webhook_id = $1 AND employer_id = $2 "
                "AND status <> 'pending' AND channel <> $3 RETURNING true",
                webhook_id,
                employer_id,
                ACCOUNT_EMAIL,
            )
            if replayed:
                await _wake_sender(conn)
            row = await conn.fetchrow(
                f"SELECT {_VIEW_COLUMNS} FROM deliveries WHERE webhook_id = $1 "
                "AND employer_id = $2 AND channel <> $3",
                webhook_id,
                employer_id,
                ACCOUNT_EMAIL,
            )
        return None if row is None else _view(row)


async def _configure_emails(conn: Connection, event: EmployerWebhooksConfigured) -> None:
    await conn.execute(
        "INSERT INTO email_recipients (employer_id, addresses, configured_at) "
        "VALUES ($1, $2, $3) ON CONFLICT (employer_id) DO UPDATE "
        "SET addresses = EXCLUDED.addresses, configured_at = EXCLUDED.configured_at "
        "WHERE email_recipients.configured_at <= EXCLUDED.configured_at",
        event.employer_id,
        usable_addresses(event.emails or []),
        event.occurred_at,
    )


def usable_addresses(addresses: list[str]) -> list[str]:
    """The addresses intake would accept, normalised, each once. A configuration stored before
    intake validated addresses may hold others: they are dropped, not the whole event."""
    usable = []
    for address in addresses:
        with contextlib.suppress(InvalidEmailAddress):
            usable.append(normalised_email(address))
    if len(usable) < len(addresses):  # the count only: an address is personal data
        log.warning(
            "dropped malformed e-mail addresses", extra={"count": len(addresses) - len(usable)}
        )
    return list(dict.fromkeys(usable))


async def _queue(
    conn: Connection,
    event_id: UUID,
    employer_id: UUID,
    request_id: UUID,
    event_type: str,
    payload: bytes,
) -> None:
    """One delivery per webhook endpoint and e-mail address; ids derive from the event, so a
    redelivered event cannot queue a second, different notification."""
    destinations = [
        (WEBHOOK, row["url"])
        for row in await conn.fetch(
            "SELECT url FROM webhook_endpoints WHERE employer_id = $1 ORDER BY url", employer_id
        )
    ]
    addresses = await conn.fetchval(
        "SELECT addresses FROM email_recipients WHERE employer_id = $1", employer_id
    )
    destinations += [(EMAIL, "mailto:" + address) for address in addresses or []]
    if not destinations:
        return
    await conn.executemany(
        "INSERT INTO deliveries (webhook_id, employer_id, request_id, url, payload, channel, "
        "event_type) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        [
            (delivery_id(event_id, url), employer_id, request_id, url, payload, channel, event_type)
            for channel, url in destinations
        ],
    )
    await _wake_sender(conn)


async def _wake_sender(conn: Connection) -> None:
    # Delivered at commit, so the sender never wakes before the rows are visible.
    await conn.execute("SELECT pg_notify($1, current_schema())", DELIVERIES_CHANNEL)


def account_mail_id(mail_id: UUID) -> str:
    """The delivery id of an account e-mail; its Message-ID derives from the mail id."""
    return "mail_" + mail_id.hex


def delivery_id(event_id: UUID, destination: str) -> str:
    """The `webhook-id`: stable for one event and destination, across retries and restarts."""
    return "msg_" + uuid5(event_id, destination).hex


def webhook_payload(verdict: VerdictReached) -> bytes:
    return completed_payload(verdict)


def outcome_of(verdict: VerdictReached) -> OutcomePublished:
    return OutcomePublished(
        request_id=verdict.request_id,
        region=verdict.region,
        qualification_id=verdict.qualification_id,
        holder_ref=verdict.holder_ref,
        verdict=verdict.verdict,
        verification_code=verdict.verification_code,
        decided_at=verdict.decided_at,
    )


def _view(row: asyncpg.Record) -> DeliveryView:
    values: dict[str, Any] = dict(row)
    if values["status"] != "pending":
        values["next_attempt_at"] = None
    return DeliveryView(**values)


_UPSERT_ENDPOINT = """
INSERT INTO webhook_endpoints (employer_id, url, sealed_secret, configured_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (employer_id, url) DO UPDATE SET
    sealed_previous_secret = CASE WHEN webhook_endpoints.sealed_secret <> EXCLUDED.sealed_secret
        THEN webhook_endpoints.sealed_secret ELSE webhook_endpoints.sealed_previous_secret END,
    previous_secret_expires_at = CASE
        WHEN webhook_endpoints.sealed_secret <> EXCLUDED.sealed_secret
        THEN $5::timestamptz ELSE webhook_endpoints.previous_secret_expires_at END,
    sealed_secret = EXCLUDED.sealed_secret,
    configured_at = EXCLUDED.configured_at
"""

# A delivery waits while an earlier one for the same request and destination is pending
# (including one leased to a sender right now), so each destination sees a request in order.
_NOT_BLOCKED = """
NOT EXISTS (
    SELECT 1 FROM deliveries earlier
    WHERE earlier.request_id = d.request_id AND earlier.url = d.url
      AND earlier.seq < d.seq AND earlier.status = 'pending'
)"""

_NEXT_DUE = f"""
SELECT extract(epoch FROM min(d.next_attempt_at) - now()) FROM deliveries d
WHERE d.status = 'pending' AND {_NOT_BLOCKED}
"""

# The earliest due deliveries ($7 of them) of employers below their limit ($6 are at it) are
# numbered per employer after those it already has in flight ($3, $4); taking them by that
# turn is round-robin across employers, capped per employer at $5. The window keeps the claim
# cheap under a large backlog; an employer that fills it reaches its limit and leaves it.
_WINDOW_TURNS = 8
_CLAIM_DUE = f"""
WITH earliest AS (
    SELECT d.webhook_id, d.employer_id, d.next_attempt_at, d.seq FROM deliveries d
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND d.employer_id <> ALL($6::uuid[]) AND {_NOT_BLOCKED}
    ORDER BY d.next_attempt_at
    LIMIT $7
),
candidate AS (
    SELECT e.webhook_id, e.next_attempt_at,
        coalesce(busy.in_flight, 0)
            + row_number() OVER (PARTITION BY e.employer_id ORDER BY e.next_attempt_at, e.seq)
            AS turn
    FROM earliest e
    LEFT JOIN unnest($3::uuid[], $4::int[]) AS busy (employer_id, in_flight)
        ON busy.employer_id = e.employer_id
),
due AS (
    SELECT d.webhook_id FROM deliveries d JOIN candidate c ON c.webhook_id = d.webhook_id
    WHERE c.turn <= $5
    ORDER BY c.turn, c.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d
SET next_attempt_at = now() + make_interval(secs => $2)
FROM due
WHERE d.webhook_id = due.webhook_id
RETURNING d.webhook_id, d.employer_id, d.channel, d.url, d.payload, d.attempts,
    (SELECT e.sealed_secret FROM webhook_endpoints e
     WHERE e.employer_id = d.employer_id AND e.url = d.url) AS sealed_secret,
    (SELECT e.sealed_previous_secret FROM webhook_endpoints e
     WHERE e.employer_id = d.employer_id AND e.url = d.url
       AND e.previous_secret_expires_at > now()) AS sealed_previous_secret
"""

_VIEW_COLUMNS = (
    "webhook_id, request_id, channel, url AS destination, event_type, status, attempts, "
    "last_error, next_attempt_at, delivered_at, created_at, replayed_at, seq"
)

_LIST_DELIVERIES = f"""
SELECT {_VIEW_COLUMNS} FROM deliveries
WHERE employer_id = $1 AND channel <> '{ACCOUNT_EMAIL}'
  AND ($2::text IS NULL OR status = $2)
  AND ($3::uuid IS NULL OR request_id = $3)
  AND ($4::bigint IS NULL OR seq < $4)
ORDER BY seq DESC
LIMIT $5
"""
