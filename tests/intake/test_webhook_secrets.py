"""Webhook signing secrets never travel in clear: sealed on `employer.webhooks.v1` (read raw
from a real broker) and in intake's table; the clear secrets of before were rotated at start."""

import base64
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contracts.events import EmployerWebhooksConfigured, decode
from services.contracts.topics import EMPLOYER_WEBHOOKS
from services.intake.admin import register_employer
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.outbox import OutboxRelay
from services.runtime.secret_box import SecretBox
from tests.infra import Infra
from tests.intake.conftest import PublishingBroker
from tests.intake.support import client_for, credit_code, intake_app, write_channels

pytestmark = pytest.mark.integration
HOOK = "http://127.0.0.1:9/hooks"  # on the development allow-list


@pytest_asyncio.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "intake")
    yield pool
    await pool.close()


async def records_of(bootstrap: str, employer_id: UUID) -> list[bytes]:
    """Every raw record of the employer on `employer.webhooks.v1`, oldest first."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(EMPLOYER_WEBHOOKS.name, p) for p in range(EMPLOYER_WEBHOOKS.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [
                    r.value for r in records if r.key == str(employer_id).encode() and r.value
                ]
        return found
    finally:
        await consumer.stop()


def assert_not_in(secret: str, raw: bytes) -> None:
    key_bytes = base64.b64decode(secret.removeprefix("whsec_"))
    assert b"whsec_" not in raw
    assert secret.encode() not in raw and secret[6:].encode() not in raw
    assert key_bytes not in raw and base64.urlsafe_b64encode(key_bytes) not in raw


async def test_secrets_are_sealed_on_kafka_and_at_rest(
    infra: Infra,
    pool: asyncpg.Pool,
    intake_broker: PublishingBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    store = IntakeStore(pool)
    app: Any = intake_app(store, write_channels(tmp_path_factory.mktemp("channels")))
    async with await client_for(app, store, credit_code(8101)) as employer:
        response = await employer.put("/v1/webhooks", json={"urls": [HOOK]})
        assert response.status_code == 200, response.text
        (endpoint,) = response.json()["endpoints"]
        rotated = await employer.post("/v1/webhooks/secrets/rotate", json={"url": HOOK})
        secrets = [endpoint["secret"], rotated.json()["secret"]]
        assert all(s.startswith("whsec_") for s in secrets) and secrets[0] != secrets[1]

        employer_id = await pool.fetchval("SELECT employer_id FROM intake.webhook_endpoints")
        assert await OutboxRelay(pool, intake_broker.publishers).publish_batch() == 2
        raw = await records_of(infra.kafka_bootstrap_servers, employer_id)
        assert len(raw) == 2
        for value in raw:
            for secret in secrets:
                assert_not_in(secret, value)

        stored = await pool.fetchval("SELECT sealed_secret FROM intake.webhook_endpoints")
        assert_not_in(secrets[1], stored.encode())
        assert SecretBox.from_env().unseal(stored, employer_id, HOOK) == secrets[1]
        headers = {"event-type": b"EmployerWebhooksConfigured", "schema-version": b"2"}
        latest = decode(raw[-1], headers)
        assert isinstance(latest, EmployerWebhooksConfigured)
        assert latest.endpoints[0].sealed_secret == stored

        listed = await employer.get("/v1/webhooks")
    assert listed.json()["endpoints"] == [{"url": HOOK, "secret": secrets[1]}]


async def test_secrets_stored_in_clear_before_are_rotated_once_at_start(
    infra: Infra,
    pool: asyncpg.Pool,
    intake_broker: PublishingBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    migrations = read_migrations(MIGRATIONS)
    before = [m for m in migrations if m[0] < "003"]
    await apply_migrations(pool, before)
    store = IntakeStore(pool)
    # The schema of then: no store method writes it any more (API keys have names since 004).
    employer_id = uuid4()
    await pool.execute(
        "INSERT INTO intake.employers (id, credit_code, name) VALUES ($1, $2, $3)",
        employer_id,
        credit_code(8102),
        "Leaked Ltd.",
    )
    leaked = "whsec_" + base64.b64encode(b"L" * 32).decode()
    await pool.execute(
        "INSERT INTO intake.webhook_endpoints (employer_id, url, secret) VALUES ($1, $2, $3)",
        employer_id,
        HOOK,
        leaked,
    )

    await apply_migrations(pool, migrations)
    _, api_key = await store.issue_api_key(employer_id, "admin")
    assert await store.webhook_settings.rotate_leaked_secrets() == 1
    assert await store.webhook_settings.rotate_leaked_secrets() == 0, "once"

    stored = await pool.fetchval("SELECT sealed_secret FROM intake.webhook_endpoints")
    assert_not_in(leaked, stored.encode())
    new_secret = SecretBox.from_env().unseal(stored, employer_id, HOOK)
    assert new_secret.startswith("whsec_") and new_secret != leaked
    app: Any = intake_app(store, write_channels(tmp_path_factory.mktemp("channels")))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://intake",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as admin:
        listed = (await admin.get("/v1/webhooks")).json()
    assert listed["endpoints"] == [{"url": HOOK, "secret": new_secret}], "how the admin gets it"

    assert await OutboxRelay(pool, intake_broker.publishers).publish_batch() == 1
    (latest,) = await records_of(infra.kafka_bootstrap_servers, employer_id)
    assert_not_in(leaked, latest)
    assert_not_in(new_secret, latest)


async def test_registering_an_employer_needs_no_webhook_key(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's register-employer (and `make run`'s demo) never touch webhook secrets,
    so they work outside development without WEBHOOK_SECRETS_KEY."""
    monkeypatch.setenv("QV_ENV", "production")
    monkeypatch.delenv("WEBHOOK_SECRETS_KEY", raising=False)
    registered = await register_employer(credit_code(7), "Keyless Ltd.", fresh_database)
    assert registered["api_key"].startswith("qv_")
