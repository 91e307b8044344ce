"""PostgreSQL repository of the notifier: endpoints, e-mail recipients, request progress,
deliveries (webhooks and e-mails) and the outbox of the employer's delivery log.

Consumed events arrive de-duplicated by the consumption middleware, and each write below is
idempotent as well (delivery ids derive from the event), so an event stored twice by a caller
outside the middleware still queues each notification once."""

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import asyncpg

from services.contracts.events import (
    AccountMailRequested,
    DeliveryReplayRequested,
    DeliveryStatus,
    DeliveryUpdated,
    EmployerWebhooksConfigured,
    Stage,
    VerificationConcluded,
    VerificationProgressed,
)
from services.notifier.domain.account_mail import QueuedAccountMail
from services.notifier.domain.delivery_log import masked_destination
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
from services.runtime.outbox import write_traced_outbox
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
class Attempt:
    """The result of one attempt at a delivery."""

    webhook_id: str
    error: str | None = None  # None: delivered
    next_attempt_at: datetime | None = None  # after a failure; None: given up


Traced = tuple[DeliveryReplayRequested, str | None]  # with the trace context it arrived with


class NotifierStore:
    def __init__(self, pool: asyncpg.Pool, *, secret_grace: timedelta = timedelta(hours=24)):
        self._pool = pool
        self._secret_grace = secret_grace
        self._attempts = GroupCommit[Attempt, None](self._record_attempts)

    @contextlib.asynccontextmanager
    async def transaction(self, conn: Connection | None = None) -> AsyncIterator[Connection]:
        """The caller's transaction when it passes one, else a new one of our own."""
        if conn is not None:
            yield conn
            return
        async with self._pool.acquire() as own, own.transaction():
            yield own

    async def accept_conclusions(
        self, conclusions: Sequence[VerificationConcluded], within: Connection | None = None
    ) -> None:
        """Finish the requests and queue their notifications: a few statements for the whole
        batch, and a payload built only for employers with somewhere to send it."""
        if not conclusions:
            return
        async with self.transaction(within) as conn:
            await conn.execute(
                _FINISH_REQUESTS, *_columns(_latest_per_request(conclusions), ACCEPTED.stage.value)
            )
            destinations = await _destinations(conn, {c.employer_id for c in conclusions})
            rows = [
                (conclusion, COMPLETED, completed_payload(conclusion), channel, url)
                for conclusion in conclusions
                if conclusion.employer_id in destinations
                for channel, url in destinations[conclusion.employer_id]
            ]
            await _queue(conn, rows)

    async def accept_progress(
        self, event: VerificationProgressed, within: Connection | None = None
    ) -> bool:
        """Record a request's progress; queue notifications when it is worth telling.
        Returns whether notifications were queued. Progress after the verdict is ignored."""
        async with self.transaction(within) as conn:
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
                destinations = await _destinations(conn, {event.employer_id})
                await _queue(
                    conn,
                    [
                        (event, PROGRESSED, payload, channel, url)
                        for channel, url in destinations.get(event.employer_id, [])
                    ],
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

    async def replay(
        self, requests: Sequence[Traced], within: Connection | None = None
    ) -> list[DeliveryUpdated]:
        """Send the finished (failed or delivered) deliveries asked for again, with their ids,
        and announce each in the delivery log. A pending delivery is left as it is, and an
        unknown one (or another employer's, or an account e-mail) is none of the requester's."""
        if not requests:
            return []
        async with self.transaction(within) as conn:
            rows = await conn.fetch(
                _REPLAY,
                [request.webhook_id for request, _ in requests],
                [request.employer_id for request, _ in requests],
            )
            traces = {request.webhook_id: trace for request, trace in requests}
            updates = [_update_of(row) for row in rows]
            if updates:
                await write_traced_outbox(conn, [(u, traces[u.webhook_id]) for u in updates])
                await _wake_sender(conn)
            return updates

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
        """Returns once stored and announced in the delivery log."""
        await self._attempts.submit(Attempt(webhook_id))

    async def mark_failed_attempt(
        self, webhook_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        """A failed attempt, to be tried again at `next_attempt_at` (None: given up)."""
        await self._attempts.submit(Attempt(webhook_id, error[:500], next_attempt_at))

    async def _record_attempts(self, attempts: list[Attempt]) -> list[None]:
        """Attempts finishing together share one transaction: their rows, and the employers'
        delivery log (account e-mails are not in it) through the outbox."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                _RECORD_ATTEMPTS,
                *_columns((a.webhook_id, a.error, a.next_attempt_at) for a in attempts),
            )
            updates = [_update_of(row) for row in rows if row["channel"] != ACCOUNT_EMAIL]
            if updates:
                await write_traced_outbox(conn, [(update, None) for update in updates])
        return [None] * len(attempts)


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


def _latest_per_request(
    conclusions: Sequence[VerificationConcluded],
) -> list[tuple[UUID, datetime]]:
    """Each request once (one statement cannot update a row twice), at its latest decision."""
    latest: dict[UUID, datetime] = {}
    for conclusion in conclusions:
        known = latest.get(conclusion.request_id)
        if known is None or conclusion.decided_at > known:
            latest[conclusion.request_id] = conclusion.decided_at
    return list(latest.items())


def _columns(rows: Iterable[tuple[Any, ...]], *constants: Any) -> list[Any]:
    """Rows as one list per column (the arrays `unnest` takes), then `constants`."""
    return [list(column) for column in zip(*rows, strict=True)] + list(constants)


async def _destinations(
    conn: Connection, employer_ids: set[UUID]
) -> dict[UUID, list[tuple[str, str]]]:
    """Each employer's webhook endpoints and e-mail addresses (as `mailto:` URLs), by channel;
    employers with neither are left out."""
    found: dict[UUID, list[tuple[str, str]]] = {}
    for row in await conn.fetch(_DESTINATIONS, list(employer_ids), WEBHOOK, EMAIL):
        found.setdefault(row["employer_id"], []).append((row["channel"], row["url"]))
    return found


Notice = tuple[VerificationConcluded | VerificationProgressed, str, bytes, str, str]


async def _queue(conn: Connection, notices: Sequence[Notice]) -> None:
    """One delivery per (event, type, payload, channel, destination), in one statement; ids
    derive from the event, so a redelivered event cannot queue a second, different
    notification."""
    if not notices:
        return
    await conn.execute(
        _QUEUE,
        *_columns(
            (
                delivery_id(event.event_id, url),
                event.employer_id,
                event.request_id,
                url,
                payload,
                channel,
                event_type,
            )
            for event, event_type, payload, channel, url in notices
        ),
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


def _update_of(row: asyncpg.Record) -> DeliveryUpdated:
    """The delivery log's entry for a delivery row: no e-mail address in clear."""
    status = DeliveryStatus(row["status"])
    return DeliveryUpdated(
        webhook_id=row["webhook_id"],
        employer_id=row["employer_id"],
        request_id=row["request_id"],
        channel=row["channel"],
        destination=masked_destination(row["channel"], row["destination"]),
        event_type=row["event_type"],
        status=status,
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"] if status is DeliveryStatus.PENDING else None,
        delivered_at=row["delivered_at"],
        created_at=row["created_at"],
        replayed_at=row["replayed_at"],
        updated_at=row["updated_at"],
    )


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

_FINISH_REQUESTS = """
INSERT INTO request_progress (request_id, stage, finished, updated_at)
SELECT request_id, $3, true, decided_at FROM unnest($1::uuid[], $2::timestamptz[])
    AS decided (request_id, decided_at)
ON CONFLICT (request_id) DO UPDATE SET finished = true, updated_at = EXCLUDED.updated_at
"""

_DESTINATIONS = """
SELECT employer_id, $2 AS channel, url FROM webhook_endpoints
WHERE employer_id = ANY($1::uuid[])
UNION ALL
SELECT employer_id, $3, 'mailto:' || address FROM email_recipients, unnest(addresses) AS address
WHERE employer_id = ANY($1::uuid[])
ORDER BY employer_id, channel DESC, url
"""

_QUEUE = """
INSERT INTO deliveries (webhook_id, employer_id, request_id, url, payload, channel, event_type)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::text[],
    $7::text[])
ON CONFLICT DO NOTHING
"""

_LOG_COLUMNS = (
    "d.webhook_id, d.employer_id, d.request_id, d.channel, d.url AS destination, d.event_type, "
    "d.status, d.attempts, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at, "
    "d.replayed_at, d.updated_at"
)

# clock_timestamp(), not now(): evaluated once the row is locked, so of two transactions
# changing one delivery the one committing last has the later updated_at.
_RECORD_ATTEMPTS = f"""
UPDATE deliveries d SET
    attempts = d.attempts + 1,
    last_error = a.error,
    status = CASE WHEN a.error IS NULL THEN 'delivered'
        WHEN a.next_attempt_at IS NULL THEN 'failed' ELSE 'pending' END,
    delivered_at = CASE WHEN a.error IS NULL THEN now() ELSE d.delivered_at END,
    next_attempt_at = coalesce(a.next_attempt_at, d.next_attempt_at),
    updated_at = clock_timestamp()
FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS a (webhook_id, error, next_attempt_at)
WHERE d.webhook_id = a.webhook_id
RETURNING {_LOG_COLUMNS}
"""

_REPLAY = f"""
UPDATE deliveries d SET
    status = 'pending', next_attempt_at = now(), replayed_at = now(),
    updated_at = clock_timestamp()
FROM unnest($1::text[], $2::uuid[]) AS r (webhook_id, employer_id)
WHERE d.webhook_id = r.webhook_id AND d.employer_id = r.employer_id
  AND d.status <> 'pending' AND d.channel <> '{ACCOUNT_EMAIL}'
RETURNING {_LOG_COLUMNS}
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
