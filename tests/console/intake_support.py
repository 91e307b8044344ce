"""Intake's operator API served in-process on real PostgreSQL, for the console's employers
section, and employers as sign-up leaves them."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import orjson

from deploy.local.processes import free_port
from services.intake.api.routes import IntakeContext, create_app
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.accounts import EmployerStatus, Role
from services.intake.store.accounts import AccountStore
from services.intake.store.employer_review import EmployerReviewStore
from services.intake.store.repository import IntakeStore
from services.intake.usecases.approving import Approving
from services.runtime.lifecycle import http_server
from services.runtime.secret_box import SecretBox
from tests.intake.support import credit_code, intake_pool, write_channels

INTAKE_TOKEN = "console-test-intake-operator-token"
_serial = iter(range(510_000, 590_000))


@dataclass(frozen=True)
class RunningIntake:
    url: str
    pool: asyncpg.Pool


@contextlib.asynccontextmanager
async def serving_intake(database_url: str, directory: Path) -> AsyncIterator[RunningIntake]:
    """Intake's API (with the operator routes) on a free port."""
    pool = await intake_pool(database_url)
    context = IntakeContext(
        store=IntakeStore(pool),
        catalogue=EditionCatalogue.load(),
        channels=ChannelDirectory.load(write_channels(directory)),
        holder_ref_key=b"test-key",
        approving=Approving(
            EmployerReviewStore(pool), SecretBox.from_env(), "http://employers.test/sign-in"
        ),
        operator_token=INTAKE_TOKEN,
    )
    port = free_port()
    server = http_server(create_app(context, health={}), "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield RunningIntake(f"http://127.0.0.1:{port}", pool)
    finally:
        server.should_exit = True
        await task
        await pool.close()


@dataclass(frozen=True)
class SignedUp:
    id: UUID
    name: str
    credit_code: str
    email: str
    phone: str


async def pending_employer(pool: asyncpg.Pool, name: str | None = None) -> SignedUp:
    """An employer whose contact confirmed the e-mail: waiting for an operator."""
    serial = next(_serial)
    code = credit_code(serial)
    name = name or f"Harbour Engineering {serial} 海港工程"
    employer_id, _ = await IntakeStore(pool).create_employer(code, name)
    await pool.execute(
        "UPDATE employers SET status = $2 WHERE id = $1", employer_id, EmployerStatus.PENDING.value
    )
    email = f"wang.{uuid4().hex[:8]}@harbour.example"
    phone = "+86 138 0013 8123"
    await AccountStore(pool).add_user(
        employer_id,
        email,
        "Wang Fang",
        Role.ADMIN,
        phone=phone,
        email_verified_at=datetime.now(UTC),
    )
    return SignedUp(employer_id, name, code, email, phone)


async def mail_kinds(pool: asyncpg.Pool, employer_id: UUID) -> list[str]:
    """The account mails intake has queued for the employer (in its outbox)."""
    rows = await pool.fetch(
        "SELECT value FROM outbox WHERE topic = 'employer.mail.v1' AND key = $1",
        str(employer_id).encode(),
    )
    return [orjson.loads(row["value"])["kind"] for row in rows]
