"""The notifier's delivery state on a real PostgreSQL: queued once per event, in order per
request, rotated secrets, e-mail recipients, replay, and the delivery log it publishes."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import orjson
import pytest

from services.contracts.events import (
    DeliveryReplayRequested,
    DeliveryStatus,
    DeliveryUpdated,
    Stage,
    decode,
)
from services.notifier.store.repository import MIGRATIONS, NotifierStore, delivery_id
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.secret_box import SecretBox
from tests.notifier.deliveries import deliveries_of
from tests.notifier.events import BOX, concluded, configured, new_secret, progressed

pytestmark = pytest.mark.integration
HOOK = "http://127.0.0.1:9/hooks"
OTHER_HOOK = "http://127.0.0.1:9/other"
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_a_verdict_queues_each_destination_once_however_often_it_arrives(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    await store.configure_endpoints(
        configured(employer, {HOOK: new_secret(), OTHER_HOOK: new_secret()}, ["hr@example.cn"])
    )
    event = concluded(employer)
    for _ in range(3):  # Kafka may redeliver after a crash
        await store.accept_conclusions([event])

    views = await deliveries_of(notifier_pool, employer)
    assert sorted(v.destination for v in views) == sorted(
        [HOOK, OTHER_HOOK, "mailto:hr@example.cn"]
    )
    assert {v.webhook_id for v in views} == {
        delivery_id(event.event_id, d) for d in (HOOK, OTHER_HOOK, "mailto:hr@example.cn")
    }
    assert {v.channel for v in views} == {"webhook", "email"}
    assert await published(notifier_pool) == [], "nothing attempted yet; outcomes: the registry's"


async def test_a_batch_queues_each_employers_notifications_and_finishes_each_request(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    hooked, mailed, silent = uuid4(), uuid4(), uuid4()
    await store.configure_endpoints(configured(hooked, {HOOK: new_secret()}))
    await store.configure_endpoints(configured(mailed, {}, ["a@example.cn", "b@example.cn"]))
    first, second = concluded(hooked), concluded(hooked)
    again = concluded(hooked, first.request_id)  # the same request decided twice in one batch
    batch = [first, second, again, concluded(mailed), concluded(silent)]
    await store.accept_conclusions(batch)

    assert len(await deliveries_of(notifier_pool, hooked)) == 3
    assert sorted(v.destination for v in await deliveries_of(notifier_pool, mailed)) == [
        "mailto:a@example.cn",
        "mailto:b@example.cn",
    ]
    assert await deliveries_of(notifier_pool, silent) == []
    finished = await notifier_pool.fetch("SELECT request_id, finished FROM request_progress")
    assert {r["request_id"] for r in finished if r["finished"]} == {e.request_id for e in batch}


async def test_progress_is_told_when_it_matters_and_never_after_the_verdict(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer, request = uuid4(), uuid4()
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    start = datetime.now(UTC)
    told = [
        await store.accept_progress(progressed(employer, request, stage, expected, start + lag))
        for stage, expected, lag in (
            (Stage.VERIFYING, timedelta(minutes=30), timedelta(0)),  # first estimate: baseline
            (Stage.VERIFYING, timedelta(minutes=29), timedelta(minutes=3)),  # +2 min: small
            (Stage.WAITING_FOR_BODY, timedelta(minutes=29), timedelta(minutes=4)),  # new stage
            (Stage.WAITING_FOR_BODY, timedelta(hours=3), timedelta(minutes=5)),  # body is down
        )
    ]
    assert told == [False, False, True, True]
    await store.accept_conclusions([concluded(employer, request)])
    late = progressed(employer, request, Stage.PARKED, timedelta(days=2))
    assert not await store.accept_progress(late)

    kinds = [v.event_type for v in reversed(await deliveries_of(notifier_pool, employer))]
    assert kinds == ["verification.progressed"] * 2 + ["verification.completed"]


async def test_one_request_is_delivered_in_order_to_each_destination(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer, request = uuid4(), uuid4()
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    await store.accept_progress(progressed(employer, request, Stage.PARKED, timedelta(hours=5)))
    await store.accept_conclusions([concluded(employer, request)])

    first = await store.claim_due(10, lease_seconds=30)
    assert len(first) == 1 and b"verification.progressed" in first[0].payload
    assert await store.claim_due(10, lease_seconds=30) == [], "leased, and blocks the verdict"
    await store.mark_delivered(first[0].webhook_id)
    second = await store.claim_due(10, lease_seconds=30)
    assert len(second) == 1 and b"verification.completed" in second[0].payload


async def test_a_rotated_secret_keeps_signing_during_the_grace_period(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool, secret_grace=timedelta(hours=1))
    employer = uuid4()
    old, new = new_secret(), new_secret()
    start = datetime.now(UTC)
    await store.configure_endpoints(configured(employer, {HOOK: old}, at=start))
    await store.configure_endpoints(
        configured(employer, {HOOK: new}, at=start + timedelta(milliseconds=1))
    )
    stale = configured(employer, {HOOK: new_secret()}, at=start - timedelta(seconds=1))
    await store.configure_endpoints(stale)  # arrived late: ignored
    await store.accept_conclusions([concluded(employer)])

    (due,) = await store.claim_due(10, lease_seconds=30)
    assert [BOX.unseal(s, employer, HOOK) for s in due.sealed_secrets()] == [new, old]

    expired = NotifierStore(notifier_pool, secret_grace=timedelta(0))
    await expired.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    await expired.accept_conclusions([concluded(employer)])
    (later,) = await store.claim_due(10, lease_seconds=30)
    assert later.sealed_previous_secret is None, "the grace period is over"


async def test_email_recipients_change_only_when_the_event_names_them(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    await store.configure_endpoints(configured(employer, {}, ["a@example.cn"]))
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))  # None: keep
    await store.accept_conclusions([concluded(employer)])
    assert len(await deliveries_of(notifier_pool, employer)) == 2
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}, []))  # clear
    await store.accept_conclusions([concluded(employer)])
    assert len(await deliveries_of(notifier_pool, employer)) == 3


async def test_a_failed_delivery_is_listed_and_replayed_with_the_same_id(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    await store.accept_conclusions([concluded(employer)])
    (due,) = await store.claim_due(10, lease_seconds=30)
    await store.mark_failed_attempt(due.webhook_id, "HTTP 503", None)

    (failed,) = await deliveries_of(notifier_pool, employer, "failed")
    assert (failed.webhook_id, failed.attempts, failed.last_error) == (
        due.webhook_id,
        1,
        "HTTP 503",
    )
    refused = [
        replay_of(uuid4(), due.webhook_id),  # another employer's delivery
        replay_of(employer, "msg_unknown"),
    ]
    assert await store.replay([(request, None) for request in refused]) == []

    (replayed,) = await store.replay([(replay_of(employer, due.webhook_id), TRACE)])
    assert (replayed.webhook_id, replayed.status) == (due.webhook_id, DeliveryStatus.PENDING)
    assert replayed.replayed_at is not None and replayed.attempts == 1
    assert await store.replay([(replay_of(employer, due.webhook_id), None)]) == [], "pending"
    (again,) = await store.claim_due(10, lease_seconds=30)
    assert (again.webhook_id, again.payload) == (due.webhook_id, due.payload)
    assert await deliveries_of(notifier_pool, employer, "failed") == []
    given_up, announced = await published(notifier_pool)
    assert given_up.status == DeliveryStatus.FAILED and given_up.last_error == "HTTP 503"
    assert announced == replayed and announced.updated_at > given_up.updated_at
    traces = await notifier_pool.fetch("SELECT headers FROM outbox ORDER BY id")
    assert ["traceparent", TRACE] in orjson.loads(traces[-1]["headers"]), "the request's trace"


async def test_each_attempt_is_published_in_the_delivery_log_with_addresses_masked(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}, ["hr@example.cn"]))
    await store.accept_conclusions([concluded(employer)])
    mail, hook = sorted(await store.claim_due(10, lease_seconds=30), key=lambda d: d.channel)
    retry_at = datetime.now(UTC) + timedelta(minutes=5)
    await asyncio.gather(
        store.mark_failed_attempt(hook.webhook_id, "HTTP 503", retry_at),
        store.mark_delivered(mail.webhook_id),
    )

    updates = {u.channel: u for u in await published(notifier_pool)}
    assert (updates["webhook"].status, updates["webhook"].destination) == ("pending", HOOK)
    assert updates["webhook"].next_attempt_at == retry_at and updates["webhook"].attempts == 1
    assert updates["email"].status == DeliveryStatus.DELIVERED
    assert updates["email"].destination == "mailto:h***@example.cn"
    assert updates["email"].delivered_at is not None and updates["email"].next_attempt_at is None
    values = await notifier_pool.fetch("SELECT value FROM outbox")
    assert not [v for v in values if b"hr@example.cn" in v["value"]], "no address in clear"


def replay_of(employer: UUID, webhook_id: str) -> DeliveryReplayRequested:
    return DeliveryReplayRequested(employer_id=employer, webhook_id=webhook_id)


async def published(pool: asyncpg.Pool) -> list[DeliveryUpdated]:
    """The delivery log's entries waiting in the outbox, oldest first."""
    events = []
    for row in await pool.fetch("SELECT value, headers FROM outbox ORDER BY id"):
        headers = {name: value.encode() for name, value in orjson.loads(row["headers"])}
        event = decode(row["value"], headers)
        assert isinstance(event, DeliveryUpdated)
        events.append(event)
    return events


async def test_a_configuration_with_malformed_addresses_keeps_only_what_intake_accepts(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    addresses = ["hr@example.cn", "hr\x00@example.cn", "hr\x1c@example.cn", "HR@Example.CN"]
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}, addresses))
    await store.accept_conclusions([concluded(employer)])
    views = await deliveries_of(notifier_pool, employer)
    assert sorted(v.destination for v in views) == sorted(
        [HOOK, "mailto:hr@example.cn", "mailto:HR@example.cn"]
    )


async def test_secrets_are_stored_sealed_and_clear_ones_of_before_are_sealed_at_start(
    fresh_database: str,
) -> None:
    pool = await create_pool(fresh_database, "notifier", max_size=2)
    try:
        migrations = read_migrations(MIGRATIONS)
        await apply_migrations(pool, [m for m in migrations if m[0] < "003"])
        employer, leaked = uuid4(), new_secret()
        await pool.execute(
            "INSERT INTO webhook_endpoints (employer_id, url, secret, configured_at) "
            "VALUES ($1, $2, $3, now() - interval '1 day')",
            employer,
            HOOK,
            leaked,
        )
        await apply_migrations(pool, migrations)
        store, box = NotifierStore(pool), SecretBox.from_env()
        assert await store.seal_clear_secrets(box) == 1
        assert await store.seal_clear_secrets(box) == 0, "once"
        at_rest = await pool.fetchval("SELECT sealed_secret FROM webhook_endpoints")
        assert "whsec_" not in at_rest and leaked[6:] not in at_rest
        assert box.unseal(at_rest, employer, HOOK) == leaked

        rotated = new_secret()  # intake's rotation of the leaked secret arrives
        await store.configure_endpoints(configured(employer, {HOOK: rotated}))
        await store.accept_conclusions([concluded(employer)])
        (due,) = await store.claim_due(10, 30)
        assert [box.unseal(s, employer, HOOK) for s in due.sealed_secrets()] == [rotated, leaked]
        stored = await pool.fetchrow(
            "SELECT sealed_secret, sealed_previous_secret FROM webhook_endpoints"
        )
        assert stored is not None and not any("whsec_" in value for value in stored)
    finally:
        await pool.close()
