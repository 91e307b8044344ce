"""Notifications on the real platform (separate processes, real Kafka, PostgreSQL, SMTP):
signed webhooks a receiver verifies, secret rotation, e-mail, the failed-then-replayed path
through the employer API, three regional consumer groups, and a notifier killed mid-delivery."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer

from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.supervisor import Supervisor
from services.contracts.events import OutcomePublished, decode
from services.contracts.topics import OUTCOME_PUBLISHED
from services.runtime.secret_box import SecretBox
from simulator.population import find, unknown_certificate_number
from simulator.settings import SimulatorSettings
from tests.e2e.conftest import RunningPlatform, verify_standard_webhook
from tests.e2e.test_walking_skeleton import application, employer_client
from tests.infra import Infra
from tests.notifier.receiver import RecordingEndpoint, recording_endpoint
from tests.notifier.smtp import Mailbox, running_mailbox

pytestmark = pytest.mark.e2e
REGIONS = ("beijing", "tianjin", "hebei")
DOCUMENT_NUMBER = "11010519491231002X"  # used by `application`


@pytest_asyncio.fixture(scope="module")
async def mailbox() -> AsyncIterator[Mailbox]:
    with running_mailbox() as box:
        yield box


@pytest_asyncio.fixture(scope="module")
async def platform(
    infra: Infra,
    module_database: str,
    mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningPlatform]:
    logs = tmp_path_factory.mktemp("notification-logs")
    ports = Ports.free()
    platform = Platform(infra.kafka_bootstrap_servers, module_database, ports)
    extra = {
        "NOTIFIER_RETRY_TIME_SCALE": "0.00002",  # the ~27-hour schedule in about 2 seconds
        "NOTIFIER_SMTP_PORT": str(mailbox.port),
        "NOTIFIER_DELIVERY_TIMEOUT_SECONDS": "1",
        "NOTIFIER_LEASE_SECONDS": "2",
        "SIMULATOR_DEFAULT_FAULTS__LATENCY_MEDIAN_MS": "20",
    }
    async with Supervisor() as supervisor:
        await supervisor.start_all(service_specs(platform, logs, extra))
        yield RunningPlatform(platform, supervisor)


@pytest_asyncio.fixture
async def endpoint() -> AsyncIterator[RecordingEndpoint]:
    # Outcomes only: progress webhooks (verifying, parked) come and go around them.
    async with recording_endpoint(only_type="verification.completed") as recording:
        yield recording


async def subscribe(
    client: httpx.AsyncClient, endpoint: RecordingEndpoint, database_url: str
) -> str:
    response = await client.put("/v1/webhooks", json={"urls": [endpoint.url]})
    assert response.status_code == 200, response.text
    secret: str = response.json()["endpoints"][0]["secret"]
    await notifier_knows(database_url, endpoint.url, secret)
    return secret


async def notifier_knows(database_url: str, url: str, secret: str) -> None:
    """The notifier learns configurations through Kafka; wait until it has this one (stored
    sealed: the platform runs with the development key, as this test does)."""
    box = SecretBox.from_env()
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(30):
            while True:
                row = await conn.fetchrow(
                    "SELECT employer_id, sealed_secret FROM notifier.webhook_endpoints "
                    "WHERE url = $1",
                    url,
                )
                if row and box.unseal(row["sealed_secret"], row["employer_id"], url) == secret:
                    return
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def submit(client: httpx.AsyncClient, nth: int, region: str = "tianjin") -> str:
    body = application(unknown_certificate_number("aws", nth), "LI Na")
    body["region"] = region
    response = await client.post("/v1/verifications", json=body)
    assert response.status_code == 202, response.text
    request_id: str = response.json()["id"]
    return request_id


async def submit_authentic(client: httpx.AsyncClient) -> str:
    certificate = find(SimulatorSettings().seed, "aws", "authentic")
    body = application(
        certificate.certificate_number, certificate.claimed_name, certificate.issued_on.isoformat()
    )
    response = await client.post("/v1/verifications", json=body)
    assert response.status_code in (200, 202), response.text
    request_id: str = response.json()["id"]
    return request_id


async def test_signed_webhook_rotation_and_email(
    platform: RunningPlatform, endpoint: RecordingEndpoint, mailbox: Mailbox
) -> None:
    database_url = platform.platform.database_url
    async with await employer_client(platform, "91110108MA01ABCD2H") as client:
        secret = await subscribe(client, endpoint, database_url)
        emails = await client.put(
            "/v1/webhooks/emails", json={"addresses": ["hr@employer.example.cn"]}
        )
        assert emails.status_code == 200, emails.text
        bad = await client.put("/v1/webhooks/emails", json={"addresses": ["not-an-address"]})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        await asyncio.sleep(0.5)  # the e-mail configuration travels through Kafka too

        request_id = await submit_authentic(client)
        (webhook,) = await endpoint.wait_for(1)
        assert webhook.json()["data"]["request_id"] == request_id
        assert verify_standard_webhook(secret, webhook), "the receiver checks authenticity"
        message = await mailbox.next()
        body = message.get_content()
        assert request_id in body and "核验申请" in body and "Verification request" in body
        assert DOCUMENT_NUMBER not in body and DOCUMENT_NUMBER not in webhook.body.decode()

        unknown = await client.post("/v1/webhooks/secrets/rotate", json={"url": "https://x.cn/"})
        assert unknown.status_code == 404
        rotated = await client.post("/v1/webhooks/secrets/rotate", json={"url": endpoint.url})
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != secret and new_secret.startswith("whsec_")
        await notifier_knows(database_url, endpoint.url, new_secret)

        await submit(client, 0)
        (_, after_rotation) = await endpoint.wait_for(2)
        assert verify_standard_webhook(new_secret, after_rotation)
        assert verify_standard_webhook(secret, after_rotation), "old secret: grace period"

        channels = await logged_channels(client, ("webhook", "delivered"))
        assert ("email", "delivered") in channels or ("email", "pending") in channels
        assert (
            await httpx.AsyncClient().get(f"{platform.platform.intake_url}/v1/webhooks/deliveries")
        ).status_code == 401


async def test_a_failed_delivery_is_visible_and_replayed_through_the_api(
    platform: RunningPlatform, endpoint: RecordingEndpoint
) -> None:
    async with await employer_client(platform, "91110108MA01ABCD2H") as client:
        secret = await subscribe(client, endpoint, platform.platform.database_url)
        endpoint.status_codes = [500] * 8  # every attempt of the (compressed) schedule
        request_id = await submit(client, 1)
        failed = await until_failed(client, request_id)
        assert failed["attempts"] == 8 and failed["last_error"] == "HTTP 500"
        assert endpoint.delivered() == []
        attempt_ids = {a.webhook.headers["webhook-id"] for a in endpoint.attempts}
        assert attempt_ids == {failed["id"]}, "every retry carried the same webhook-id"

        missing = await client.post(f"/v1/webhooks/deliveries/msg_{'0' * 32}/replay")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        malformed = await client.post("/v1/webhooks/deliveries/msg_nope/replay")
        assert malformed.status_code == 422
        assert malformed.json()["errors"][0]["pointer"]
        replay = await client.post(f"/v1/webhooks/deliveries/{failed['id']}/replay")
        assert replay.status_code == 202, replay.text
        (webhook,) = await endpoint.wait_for(1)
        assert webhook.headers["webhook-id"] == failed["id"]
        assert verify_standard_webhook(secret, webhook)


async def logged_channels(
    client: httpx.AsyncClient, awaited: tuple[str, str]
) -> set[tuple[str, str]]:
    """The (channel, status) pairs of intake's delivery log once `awaited` is among them (the
    notifier's DeliveryUpdated events reach intake's log through Kafka)."""
    async with asyncio.timeout(30):
        while True:
            listed = (await client.get("/v1/webhooks/deliveries")).json()["items"]
            channels = {(i["channel"], i["status"]) for i in listed}
            if awaited in channels:
                return channels
            await asyncio.sleep(0.2)


async def until_failed(client: httpx.AsyncClient, request_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            page = await client.get(
                "/v1/webhooks/deliveries", params={"status": "failed", "request_id": request_id}
            )
            assert page.status_code == 200, page.text
            if page.json()["items"]:
                item: dict[str, Any] = page.json()["items"][0]
                return item
            await asyncio.sleep(0.2)


async def test_three_regional_consumer_groups_each_receive_every_outcome(
    platform: RunningPlatform,
) -> None:
    bootstrap = platform.platform.kafka_bootstrap_servers
    consumers = [
        AIOKafkaConsumer(
            OUTCOME_PUBLISHED.name,
            bootstrap_servers=bootstrap,
            group_id=f"region-{region}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        for region in REGIONS
    ]
    for consumer in consumers:
        await consumer.start()
    try:
        async with await employer_client(platform, "91110108MA01ABCD2H") as client:
            expected = {await submit(client, 10 + n, region) for n, region in enumerate(REGIONS)}
        received = await asyncio.gather(*(outcomes(c, expected) for c in consumers))
    finally:
        for consumer in consumers:
            await consumer.stop()
    for by_request in received:
        assert set(by_request) == expected
        assert {o.region for o in by_request.values()} == set(REGIONS)
        assert all(o.verdict == "not_authentic" for o in by_request.values())


async def outcomes(consumer: AIOKafkaConsumer, wanted: set[str]) -> dict[str, OutcomePublished]:
    found: dict[str, OutcomePublished] = {}
    async with asyncio.timeout(60):
        while set(found) < wanted:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    assert record.value is not None
                    assert (
                        b"LI Na" not in record.value
                        and DOCUMENT_NUMBER.encode() not in record.value
                    )
                    event = decode(record.value, dict(record.headers))
                    assert isinstance(event, OutcomePublished)
                    if str(event.request_id) in wanted:
                        found[str(event.request_id)] = event
            await consumer.commit()
    return found


async def test_a_killed_notifier_still_delivers_every_webhook_once_in_effect(
    platform: RunningPlatform, endpoint: RecordingEndpoint
) -> None:
    supervisor = platform.supervisor
    async with await employer_client(platform, "91110108MA01ABCD2H") as client:
        secret = await subscribe(client, endpoint, platform.platform.database_url)
        endpoint.delay_seconds = 0.3  # deliveries stay in flight long enough to be cut
        expected = {await submit(client, 100 + n) for n in range(12)}
        async with asyncio.timeout(30):
            await endpoint.seen.wait()
        await supervisor.kill("notifier")  # SIGKILL, mid-delivery
        meanwhile = await client.get("/v1/webhooks/deliveries")
        assert meanwhile.status_code == 200, "intake's own log: no call to the notifier"
        await supervisor.restart("notifier")
        endpoint.delay_seconds = 0.0
        async with asyncio.timeout(90):
            while {w.json()["data"]["request_id"] for w in endpoint.delivered()} < expected:
                await asyncio.sleep(0.1)
        # The cut delivery reached the receiver, but the notifier never heard back: it sends it
        # again once its lease ends, which may be after the others are all through.
        rows = await all_delivered(platform.platform.database_url, endpoint.url, len(expected))
    by_id: dict[str, set[bytes]] = {}
    for webhook in endpoint.delivered():
        assert verify_standard_webhook(secret, webhook)
        by_id.setdefault(webhook.headers["webhook-id"], set()).add(webhook.body)
    assert all(len(bodies) == 1 for bodies in by_id.values()), "a duplicate is the same message"
    assert len(by_id) == len(expected), "one webhook-id per request"
    duplicates = len(endpoint.delivered()) - len(by_id)
    print(f"killed notifier: {len(by_id)} webhooks, {duplicates} duplicate(s) with the same id")
    assert duplicates >= 1, "the kill cut at least one delivery in flight, which was sent again"
    assert {r["webhook_id"] for r in rows} == set(by_id)


async def all_delivered(database_url: str, url: str, count: int) -> list[asyncpg.Record]:
    """The notifier's deliveries to `url`, once there are `count` and it holds all delivered."""
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(90):
            while True:
                rows: list[asyncpg.Record] = await conn.fetch(
                    "SELECT webhook_id, status FROM notifier.deliveries WHERE url = $1", url
                )
                if len(rows) == count and {r["status"] for r in rows} == {"delivered"}:
                    return rows
                await asyncio.sleep(0.2)
    finally:
        await conn.close()
