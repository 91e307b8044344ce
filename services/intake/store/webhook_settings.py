"""Intake's side of notification settings: secret rotation and e-mail recipients.

Each change is stored with the `EmployerWebhooksConfigured` event that tells the notifier, in
one transaction (the notifier keeps a rotated-out secret valid for a grace period itself).
"""

import base64
import secrets
from uuid import UUID

import asyncpg

from services.contracts.events import EmployerWebhooksConfigured, WebhookEndpoint
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox


def new_webhook_secret() -> str:
    """Standard Webhooks secret: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSettingsStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def rotate_secret(self, employer_id: UUID, url: str) -> WebhookEndpoint | None:
        """Give one endpoint a new secret; None when the employer has no such endpoint."""
        async with self._pool.acquire() as conn, conn.transaction():
            endpoints = await _endpoints(conn, employer_id)
            if url not in {e.url for e in endpoints}:
                return None
            rotated = WebhookEndpoint(url=url, secret=new_webhook_secret())
            await conn.execute(
                "UPDATE webhook_endpoints SET secret = $3 WHERE employer_id = $1 AND url = $2",
                employer_id,
                url,
                rotated.secret,
            )
            endpoints = [rotated if e.url == url else e for e in endpoints]
            event = EmployerWebhooksConfigured(employer_id=employer_id, endpoints=endpoints)
            await write_outbox(conn, [event])
        return rotated

    async def set_emails(self, employer_id: UUID, addresses: list[str]) -> list[str]:
        """Replace the addresses that receive notifications by e-mail (empty: none)."""
        unique = list(dict.fromkeys(addresses))
        async with self._pool.acquire() as conn, conn.transaction():
            event = EmployerWebhooksConfigured(
                employer_id=employer_id,
                endpoints=await _endpoints(conn, employer_id),
                emails=unique,
            )
            await write_outbox(conn, [event])
        return unique


async def _endpoints(conn: Connection, employer_id: UUID) -> list[WebhookEndpoint]:
    rows = await conn.fetch(
        "SELECT url, secret FROM webhook_endpoints WHERE employer_id = $1 ORDER BY url FOR UPDATE",
        employer_id,
    )
    return [WebhookEndpoint(url=row["url"], secret=row["secret"]) for row in rows]
