"""Intake's side of notification settings: webhook endpoints and their signing secrets, secret
rotation and e-mail recipients (kept here too, so the employer's pages read them from intake).

Each change is stored with the `EmployerWebhooksConfigured` event that tells the notifier, in
one transaction (the notifier keeps a rotated-out secret valid for a grace period itself).
Secrets are stored and published sealed (`SecretBox`, bound to employer and URL); only the
employer sees them in clear, in the answer to the request that created them or on
`GET /v1/webhooks`.
"""

import base64
import functools
import logging
import secrets
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from services.contracts.events import EmployerWebhooksConfigured, WebhookEndpoint
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox
from services.runtime.secret_box import SecretBox

log = logging.getLogger(__name__)


def new_webhook_secret() -> str:
    """Standard Webhooks secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class EndpointSecret:
    """An endpoint with its secret in clear: only ever for its own employer."""

    url: str
    secret: str


class WebhookSettingsStore:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox | None = None) -> None:
        self._pool = pool
        self._given_box = box

    @functools.cached_property
    def _box(self) -> SecretBox:
        # Resolved on first use, so tools that never touch secrets (register-employer) need
        # no key; the service itself passes its box in at start-up and so fails fast.
        return self._given_box or SecretBox.from_env()

    async def set_webhooks(self, employer_id: UUID, urls: list[str]) -> list[EndpointSecret]:
        """Replace the employer's webhook endpoints; each new endpoint gets a signing secret,
        a kept one keeps its own."""
        async with self._pool.acquire() as conn, conn.transaction():
            kept = {e.url: e for e in await _endpoints(conn, employer_id)}
            endpoints = [kept.get(url) or self._new_endpoint(employer_id, url) for url in urls]
            endpoints = list({e.url: e for e in endpoints}.values())
            await conn.execute("DELETE FROM webhook_endpoints WHERE employer_id = $1", employer_id)
            await conn.executemany(
                "INSERT INTO webhook_endpoints (employer_id, url, sealed_secret) "
                "VALUES ($1, $2, $3)",
                [(employer_id, e.url, e.sealed_secret) for e in endpoints],
            )
            await _publish(conn, employer_id, endpoints)
        return [self._opened(employer_id, e) for e in endpoints]

    async def secrets_of(self, employer_id: UUID) -> list[EndpointSecret]:
        """The employer's endpoints with their current secrets, for the employer itself."""
        async with self._pool.acquire() as conn:
            endpoints = await _endpoints(conn, employer_id, lock=False)
        return [self._opened(employer_id, e) for e in endpoints]

    async def rotate_secret(self, employer_id: UUID, url: str) -> EndpointSecret | None:
        """Give one endpoint a new secret; None when the employer has no such endpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            endpoints = await _endpoints(conn, employer_id)
            if url not in {e.url for e in endpoints}:
                return None
            rotated = self._new_endpoint(employer_id, url)
            await _store_secret(conn, employer_id, rotated)
            endpoints = [rotated if e.url == url else e for e in endpoints]
            await _publish(conn, employer_id, endpoints)
        return self._opened(employer_id, rotated)

    async def rotate_leaked_secrets(self) -> int:
        """Start-up step after migration 003: every endpoint whose clear secret was wiped gets a
        new sealed one, published with its employer's configuration. Returns how many; 0 once
        done. The notifier keeps the old secret signing for its grace period meanwhile."""
        rotated = 0
        async with self._pool.acquire() as conn, conn.transaction():
            employers = await conn.fetch(
                "SELECT DISTINCT employer_id FROM webhook_endpoints WHERE sealed_secret IS NULL"
            )
            for row in employers:
                rotated += await self._rotate_leaked(conn, row["employer_id"])
        if rotated:
            log.warning(
                "rotated webhook secrets that had travelled in clear", extra={"count": rotated}
            )
        return rotated

    async def _rotate_leaked(self, conn: Connection, employer_id: UUID) -> int:
        endpoints, rotated = [], 0
        for row in await _endpoint_rows(conn, employer_id, lock=True):
            endpoint = WebhookEndpoint(url=row["url"], sealed_secret=row["sealed_secret"] or "")
            if row["sealed_secret"] is None:
                endpoint = self._new_endpoint(employer_id, row["url"])
                await _store_secret(conn, employer_id, endpoint)
                rotated += 1
            endpoints.append(endpoint)
        await _publish(conn, employer_id, endpoints)
        return rotated

    async def set_emails(self, employer_id: UUID, addresses: list[str]) -> list[str]:
        """Replace the addresses that receive notifications by e-mail (empty: none)."""
        unique = list(dict.fromkeys(addresses))
        async with self._pool.acquire() as conn, conn.transaction():
            endpoints = await _endpoints(conn, employer_id)
            await conn.execute(
                "INSERT INTO email_recipients (employer_id, addresses) VALUES ($1, $2) "
                "ON CONFLICT (employer_id) DO UPDATE "
                "SET addresses = EXCLUDED.addresses, configured_at = now()",
                employer_id,
                unique,
            )
            await _publish(conn, employer_id, endpoints, emails=unique)
        return unique

    async def emails_of(self, employer_id: UUID) -> list[str]:
        """The addresses last saved for the employer's notifications (none saved: [])."""
        addresses = await self._pool.fetchval(
            "SELECT addresses FROM email_recipients WHERE employer_id = $1", employer_id
        )
        return list(addresses or [])

    def _new_endpoint(self, employer_id: UUID, url: str) -> WebhookEndpoint:
        sealed = self._box.seal(new_webhook_secret(), employer_id, url)
        return WebhookEndpoint(url=url, sealed_secret=sealed)

    def _opened(self, employer_id: UUID, endpoint: WebhookEndpoint) -> EndpointSecret:
        secret = self._box.unseal(endpoint.sealed_secret, employer_id, endpoint.url)
        return EndpointSecret(url=endpoint.url, secret=secret)


async def _endpoint_rows(conn: Connection, employer_id: UUID, lock: bool) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT url, sealed_secret FROM webhook_endpoints WHERE employer_id = $1 ORDER BY url"
            + (" FOR UPDATE" if lock else ""),
            employer_id,
        )
    )


async def _endpoints(
    conn: Connection, employer_id: UUID, lock: bool = True
) -> list[WebhookEndpoint]:
    """The endpoints with a sealed secret (one still waiting for rotation is left out)."""
    return [
        WebhookEndpoint(url=row["url"], sealed_secret=row["sealed_secret"])
        for row in await _endpoint_rows(conn, employer_id, lock)
        if row["sealed_secret"] is not None
    ]


async def _store_secret(conn: Connection, employer_id: UUID, endpoint: WebhookEndpoint) -> None:
    await conn.execute(
        "UPDATE webhook_endpoints SET sealed_secret = $3 WHERE employer_id = $1 AND url = $2",
        employer_id,
        endpoint.url,
        endpoint.sealed_secret,
    )


async def _publish(
    conn: Connection,
    employer_id: UUID,
    endpoints: list[WebhookEndpoint],
    emails: list[str] | None = None,
) -> None:
    event = EmployerWebhooksConfigured(employer_id=employer_id, endpoints=endpoints, emails=emails)
    await write_outbox(conn, [event])
