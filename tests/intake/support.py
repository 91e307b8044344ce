"""Shared set-up of intake's HTTP tests: a real PostgreSQL schema, the app in-process
(`httpx.ASGITransport`), a small channel book of the tests' own, and employers."""

from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from services.contracts.events import Event
from services.intake.api.routes import IntakeContext, create_app
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.turnaround import TurnaroundPolicy
from services.intake.events.router import apply_events
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.reliability import Inbox, PostgresInbox

QUALIFICATION = "aws-e94e5145"  # AWS Certified Solutions Architect - Professional (body aws)
JOINT_QUALIFICATION = "baft-a281b26c"  # CDCS: LIBF, ICC and BAFT award it jointly
PMI_QUALIFICATION = "pmi-acbb3940"  # a body whose test channel requires a field

CREDIT_CODE_A = "91110108MA01ABCD2H"
CREDIT_CODE_B = "911100007109288314"

# The tests' own channel book: aws answers in 5 s, icc in 60 s, pmi needs a credential JWT.
TEST_CHANNELS: dict[str, Any] = {
    "default": {"type": "credential_api", "endpoint": "http://bodies.test/{body_id}"},
    "bodies": {
        "aws": {
            "type": "credential_api",
            "endpoint": "http://bodies.test/aws",
            "turnaround_seconds": 5,
        },
        "icc": {
            "type": "credential_api",
            "endpoint": "http://bodies.test/icc",
            "turnaround_seconds": 60,
        },
        "pmi": {
            "type": "signed_credential",
            "endpoint": "http://bodies.test/pmi",
            "turnaround_seconds": 1,
            "required_fields": ["credential_jwt", "badge_url"],
        },
    },
}


def write_channels(directory: Path) -> Path:
    path = directory / "channels.json"
    path.write_bytes(orjson.dumps(TEST_CHANNELS))
    return path


async def intake_pool(database_url: str) -> asyncpg.Pool:
    pool = await create_pool(database_url, "intake")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    return pool


def intake_app(
    store: IntakeStore,
    channels_file: Path,
    catalogue: EditionCatalogue | None = None,
    policy: TurnaroundPolicy | None = None,
    max_batch_rows: int = 500,
    own_urls: tuple[str, ...] = (),
) -> Any:
    context = IntakeContext(
        store=store,
        catalogue=catalogue or EditionCatalogue.load(),
        channels=ChannelDirectory.load(channels_file),
        holder_ref_key=b"test-key",
        turnaround_policy=policy or TurnaroundPolicy(),
        max_batch_rows=max_batch_rows,
        own_service_urls=own_urls,
    )
    return create_app(context, health={})


def anonymous_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake")


async def client_for(app: Any, store: IntakeStore, credit_code: str) -> httpx.AsyncClient:
    _, api_key = await store.create_employer(credit_code, "Employer " + credit_code[-4:])
    client = anonymous_client(app)
    client.headers["Authorization"] = f"Bearer {api_key}"
    return client


def application(number: str = "AWS-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "qualification_id": QUALIFICATION,
        "region": "beijing",
        "holder": {
            "name": "ZHANG Wei",
            "name_zh": "张伟",
            "nationality": "CHN",
            "document_type": "resident_id",
            "document_number": "11010519491231002X",
        },
        "certificate": {"number": number, "issued_on": "2024-03-01"},
        "consent": True,
    }
    body.update(changes)
    return body


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code(serial: int) -> str:
    """A valid unified social credit code (GB 32100-2015) for a test employer."""
    body = f"91110108{serial:09d}"
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


async def consume(
    store: IntakeStore, *events: Event, catalogue: EditionCatalogue | None = None
) -> None:
    """`events` stored as intake's subscriber stores one consumed batch, without Kafka: the
    event ids claimed (one consumed before is skipped) and the effects in one transaction, the
    after-commit work once it committed."""
    inbox_store = PostgresInbox(store._pool)
    async with inbox_store.transaction() as conn:
        new = await inbox_store.claim(conn, [event.event_id for event in events])
        fresh = list({e.event_id: e for e in events if e.event_id in new}.values())
        inbox = Inbox(conn, {})
        if fresh:
            await apply_events(fresh, inbox, store, catalogue or EditionCatalogue.load())  # type: ignore[arg-type]
    for done in inbox._after_commit:
        done()
