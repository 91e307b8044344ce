"""Account e-mail from intake's outbox to a real SMTP server: across a real broker, sealed on
the way, sent once per mail id even when the event arrives twice, retried while the mail
server is down."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiosmtpd.controller import Controller
from faststream.kafka import KafkaRouter

from deploy.local.processes import free_port
from services.contracts.events import (
    AccountMail,
    AccountMailRequested,
    DeliveryReplayRequested,
    LocalizedText,
)
from services.contracts.topics import ALL_TOPICS, EMPLOYER_MAIL
from services.intake.store.account_mail import request_mail
from services.intake.store.repository import MIGRATIONS as INTAKE_MIGRATIONS
from services.notifier.delivery.account_email import AccountEmailTransport
from services.notifier.delivery.email import EmailTransport
from services.notifier.delivery.sender import DeliverySender
from services.notifier.store.repository import ACCOUNT_EMAIL, NotifierStore, account_mail_id
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.kafka import create_producer
from services.runtime.messaging import declare_publishers, new_broker, start_broker
from services.runtime.notifications import Notifications
from services.runtime.outbox import OutboxRelay
from services.runtime.secret_box import SecretBox, mail_recipient_binding
from tests.infra import Infra
from tests.notifier.deliveries import deliveries_of
from tests.notifier.running import running_notifier
from tests.notifier.smtp import Mailbox
from tests.signing import signer_of

pytestmark = pytest.mark.integration
BOX = SecretBox.from_env()  # the development key, which intake seals with in the tests
SENDER = "accounts@qualverify.test"
FAST = 1e-5  # the notifier's ~27-hour retry schedule in about a second


@pytest_asyncio.fixture
async def intake_pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "intake", max_size=4)
    await apply_migrations(pool, read_migrations(INTAKE_MIGRATIONS))
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    producer = create_producer(infra.kafka_bootstrap_servers, "account-mail-test")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


@pytest_asyncio.fixture
async def intake_relay(infra: Infra, intake_pool: asyncpg.Pool) -> AsyncIterator[OutboxRelay]:
    """Intake's outbox relay, publishing its account mail signed as intake."""
    router = KafkaRouter()
    publishers = declare_publishers(router, [AccountMailRequested])
    broker = new_broker(
        infra.kafka_bootstrap_servers, "intake", signer_of("intake"), routers=[router]
    )
    await start_broker(broker, infra.kafka_bootstrap_servers, ALL_TOPICS)
    try:
        yield OutboxRelay(intake_pool, publishers)
    finally:
        await broker.stop()


def sender_to(store: NotifierStore, notifications: Notifications, smtp_port: int) -> DeliverySender:
    smtp = EmailTransport("127.0.0.1", smtp_port, SENDER, timeout_seconds=2)
    transports = {ACCOUNT_EMAIL: AccountEmailTransport(smtp, BOX)}
    return DeliverySender(store, notifications, dict(transports), time_scale=FAST, lease_seconds=5)


async def request(
    pool: asyncpg.Pool,
    employer_id: UUID,
    recipient: str,
    link: str | None,
    kind: AccountMail = AccountMail.VERIFY_EMAIL,
    link_valid_hours: float | None = None,
) -> UUID:
    """As intake asks for a mail: in its own transaction, through its outbox."""
    async with pool.acquire() as conn, conn.transaction():
        return await request_mail(
            conn,
            BOX,
            employer_id=employer_id,
            kind=kind,
            organisation="Harbour Engineering Ltd.",
            recipient=recipient,
            link=link,
            link_valid_hours=link_valid_hours,
        )


async def raw_records(bootstrap: str, employer_id: UUID) -> list[tuple[bytes, list[Any]]]:
    """The employer's records on employer.mail.v1 as they lie on the broker."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(EMPLOYER_MAIL.name, p) for p in range(EMPLOYER_MAIL.partitions)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += [
                    (r.value, list(r.headers))
                    for r in records
                    if r.key == str(employer_id).encode() and r.value
                ]
        return found
    finally:
        await consumer.stop()


async def test_an_account_mail_goes_from_intake_to_the_mailbox_once_and_sealed_on_kafka(
    infra: Infra,
    intake_pool: asyncpg.Pool,
    intake_relay: OutboxRelay,
    notifier_pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    mailbox: Mailbox,
) -> None:
    employer_id = uuid4()
    address = f"contact-{employer_id.hex[:8]}@harbour.example"
    link = f"http://127.0.0.1:8086/verify-email?token=secret-{uuid4().hex}"
    bootstrap = infra.kafka_bootstrap_servers
    async with running_notifier(bootstrap, notifier_pool, mailbox.port):
        mail_id = await request(intake_pool, employer_id, address, link, link_valid_hours=24)
        relay = intake_relay
        assert await relay.publish_batch() == 1

        message = await mailbox.next()
        assert message["To"] == address
        assert message["Message-ID"] == f"<{mail_id}@qualverify.test>"
        body = message.get_content()
        assert link in body
        assert body.index("请打开以下链接") < body.index("Open this link"), "Chinese first"
        assert "24小时内有效" in body and "valid for 24 hours" in body
        assert "Harbour Engineering Ltd." in body

        ((value, headers),) = await raw_records(infra.kafka_bootstrap_servers, employer_id)
        assert address.encode() not in value and b"harbour.example" not in value
        assert link.encode() not in value and b"secret-" not in value

        # The same record again (a redelivery, or the relay publishing twice), then another.
        await producer.send_and_wait(
            EMPLOYER_MAIL.name, value, key=str(employer_id).encode(), headers=headers
        )
        await request(intake_pool, employer_id, address, None, kind=AccountMail.EMPLOYER_APPROVED)
        assert await relay.publish_batch() == 1
        second = await mailbox.next()
        assert "approved" in second["Subject"]
        await asyncio.sleep(0.5)
        assert mailbox.received.empty(), "the first mail was sent once"
        row = await notifier_pool.fetchrow(
            "SELECT url, payload, status FROM deliveries WHERE webhook_id = $1",
            account_mail_id(mail_id),
        )
        assert row is not None and row["status"] == "delivered"
        assert address not in row["url"] and link.encode() not in row["payload"], "sealed at rest"
        assert await deliveries_of(notifier_pool, employer_id) == [], "not in the delivery log"
        replay = DeliveryReplayRequested(
            employer_id=employer_id, webhook_id=account_mail_id(mail_id)
        )
        assert await NotifierStore(notifier_pool).replay([(replay, None)]) == [], "nor replayed"
        assert await notifier_pool.fetchval("SELECT count(*) FROM outbox") == 0, "nor announced"


async def test_a_mail_server_down_is_retried_until_the_mail_goes_out(
    notifier_pool: asyncpg.Pool,
) -> None:
    store = NotifierStore(notifier_pool)
    employer_id, mail_id = uuid4(), uuid4()
    address = "admin@rejected.example"
    event = AccountMailRequested(
        mail_id=mail_id,
        employer_id=employer_id,
        kind=AccountMail.EMPLOYER_REJECTED,
        organisation="Rejected Ltd.",
        sealed_recipient=BOX.seal(address, employer_id, mail_recipient_binding(mail_id)),
        note=LocalizedText(zh="信用代码与名称不符", en="The credit code names another company"),
    )
    await store.accept_account_mail(event)
    await store.accept_account_mail(event)  # the same mail id again: still one delivery
    port = free_port()
    mailbox = Mailbox(port=port, loop=asyncio.get_running_loop())
    notifications = Notifications(notifier_pool)
    sender = sender_to(store, notifications, port)
    tasks = [asyncio.create_task(sender.run()), asyncio.create_task(notifications.run())]
    try:
        async with asyncio.timeout(15):
            while not await failed_attempts(notifier_pool, mail_id):
                await asyncio.sleep(0.02)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            message: EmailMessage = await mailbox.next()
            async with asyncio.timeout(15):  # recorded once the server accepted it
                while await status_of(notifier_pool, mail_id) != "delivered":
                    await asyncio.sleep(0.02)
        finally:
            controller.stop()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    body = message.get_content()
    assert message["To"] == address
    assert "说明：信用代码与名称不符" in body
    assert "Reason: The credit code names another company" in body
    row = await notifier_pool.fetchrow(
        "SELECT status, attempts, last_error FROM deliveries WHERE webhook_id = $1",
        account_mail_id(mail_id),
    )
    assert row is not None
    assert row["status"] == "delivered" and row["attempts"] >= 2 and row["last_error"] is None
    assert await notifier_pool.fetchval("SELECT count(*) FROM deliveries") == 1


async def status_of(pool: asyncpg.Pool, mail_id: UUID) -> str | None:
    status: str | None = await pool.fetchval(
        "SELECT status FROM deliveries WHERE webhook_id = $1", account_mail_id(mail_id)
    )
    return status


async def failed_attempts(pool: asyncpg.Pool, mail_id: UUID) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT attempts > 0 AND last_error IS NOT NULL FROM deliveries WHERE webhook_id = $1",
            account_mail_id(mail_id),
        )
    )


async def test_a_mail_sealed_under_another_key_fails_at_once(
    notifier_pool: asyncpg.Pool, mailbox: Mailbox
) -> None:
    store = NotifierStore(notifier_pool)
    employer_id, mail_id = uuid4(), uuid4()
    other_key = SecretBox(bytes(32))
    await store.accept_account_mail(
        AccountMailRequested(
            mail_id=mail_id,
            employer_id=employer_id,
            kind=AccountMail.PASSWORD_RESET,
            organisation="Other Key Ltd.",
            sealed_recipient=other_key.seal(
                "x@other.example", employer_id, mail_recipient_binding(mail_id)
            ),
        )
    )
    # The mail is already queued, so the sender's first look finds it: nothing to listen for.
    sender = sender_to(store, Notifications(notifier_pool), mailbox.port)
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(15):
            while await notifier_pool.fetchval("SELECT status FROM deliveries") != "failed":
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert mailbox.received.empty()
