"""Intake's operator API: an operator (the console) lists employers waiting for approval,
approves or rejects each once, and the employer's admins are told by e-mail in the same
transaction (an AccountMailRequested in the outbox, address and link sealed)."""

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import orjson
import pytest
import pytest_asyncio

from services.contracts.events import AccountMail, AccountMailRequested, decode
from services.intake.admin import decide_employer
from services.intake.api.routes import IntakeContext, create_app
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.accounts import EmployerStatus, Role
from services.intake.store.accounts import AccountStore
from services.intake.store.employer_review import EmployerReviewStore
from services.intake.store.repository import IntakeStore
from services.intake.usecases.approving import Approving
from services.runtime.secret_box import SecretBox, mail_link_binding, mail_recipient_binding
from tests.intake.support import credit_code, write_channels

pytestmark = pytest.mark.integration
TOKEN = "operator-token-for-tests"
SIGN_IN = "http://employers.test/sign-in"
BOX = SecretBox.from_env()
_serial = iter(range(910_000, 990_000))


def approving_of(pool: asyncpg.Pool) -> Approving:
    return Approving(EmployerReviewStore(pool), BOX, SIGN_IN)


@pytest.fixture(scope="module")
def channels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_channels(tmp_path_factory.mktemp("channels"))


@pytest_asyncio.fixture
async def operator(pool: asyncpg.Pool, channels_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    context = IntakeContext(
        store=IntakeStore(pool),
        catalogue=EditionCatalogue.load(),
        channels=ChannelDirectory.load(channels_file),
        holder_ref_key=b"test-key",
        approving=approving_of(pool),
        operator_token=TOKEN,
    )
    app: Any = create_app(context, health={})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://intake",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def signed_up(
    pool: asyncpg.Pool,
    status: EmployerStatus = EmployerStatus.PENDING,
    admins: int = 1,
    name: str = "Harbour Engineering Ltd. 海港工程有限公司",
) -> tuple[UUID, list[str]]:
    """An employer as sign-up leaves it: its admin(s), its status."""
    employer_id, _ = await IntakeStore(pool).create_employer(credit_code(next(_serial)), name)
    await pool.execute("UPDATE employers SET status = $2 WHERE id = $1", employer_id, status.value)
    accounts = AccountStore(pool)
    addresses = [f"admin{i}.{uuid4().hex[:8]}@harbour.example" for i in range(admins)]
    for i, address in enumerate(addresses):
        await accounts.add_user(
            employer_id,
            address,
            f"Admin {i}",
            Role.ADMIN,
            phone="+86 138 0013 8000",
            email_verified_at=datetime.now(UTC),
        )
    await accounts.add_user(employer_id, f"viewer.{uuid4().hex[:8]}@x.example", "V", Role.VIEWER)
    return employer_id, addresses


async def mails_of(pool: asyncpg.Pool, employer_id: UUID) -> list[AccountMailRequested]:
    rows = await pool.fetch(
        "SELECT value, headers FROM outbox WHERE topic = 'employer.mail.v1' ORDER BY id"
    )
    mails = []
    for row in rows:
        headers = {k: v.encode() for k, v in orjson.loads(row["headers"])}
        event = decode(row["value"], headers)
        assert isinstance(event, AccountMailRequested)
        if event.employer_id == employer_id:
            mails.append(event)
    return mails


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
async def test_without_the_operator_token_nothing_is_answered(
    operator: httpx.AsyncClient, pool: asyncpg.Pool, authorization: str | None
) -> None:
    employer_id, _ = await signed_up(pool)
    headers = {} if authorization is None else {"Authorization": authorization}
    operator.headers.pop("Authorization")
    for method, path in [
        ("GET", "/internal/v1/employers"),
        ("GET", f"/internal/v1/employers/{employer_id}"),
        ("POST", f"/internal/v1/employers/{employer_id}/approve"),
    ]:
        response = await operator.request(method, path, headers=headers, json={"operator": "alice"})
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["message"]["zh"] == "缺少或无效的操作员令牌"
    status = await pool.fetchval("SELECT status FROM employers WHERE id = $1", employer_id)
    assert status == "pending"


async def test_an_unset_operator_token_opens_nothing(
    pool: asyncpg.Pool, channels_file: Path
) -> None:
    context = IntakeContext(
        store=IntakeStore(pool),
        catalogue=EditionCatalogue.load(),
        channels=ChannelDirectory.load(channels_file),
        holder_ref_key=b"test-key",
        approving=approving_of(pool),
        operator_token="",
    )
    app: Any = create_app(context, health={})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake"
    ) as client:
        response = await client.get("/internal/v1/employers", headers={"Authorization": "Bearer "})
    assert response.status_code == 401


async def test_pending_employers_are_listed_with_their_contact(
    operator: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    employer_id, (address,) = await signed_up(pool)
    unverified_id, _ = await signed_up(pool, EmployerStatus.UNVERIFIED)
    response = await operator.get("/internal/v1/employers", params={"status": "pending"})
    assert response.status_code == 200, response.text
    listed = {item["id"]: item for item in response.json()["items"]}
    assert str(unverified_id) not in listed
    item = listed[str(employer_id)]
    assert item["status"] == "pending" and item["name"].startswith("Harbour")
    assert item["contact"] == {"name": "Admin 0", "email": address, "phone": "+86 138 0013 8000"}
    assert item["email_verified_at"] is not None and item["created_at"]
    one = await operator.get(f"/internal/v1/employers/{employer_id}")
    assert one.json() == item
    wrong = await operator.get("/internal/v1/employers", params={"status": "approved"})
    assert wrong.status_code == 422
    missing = await operator.get(f"/internal/v1/employers/{uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["message"] == {"zh": "未找到该用人单位", "en": "No such employer"}


async def test_approval_activates_and_mails_each_admin_once(
    operator: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    employer_id, addresses = await signed_up(pool, admins=2)
    response = await operator.post(
        f"/internal/v1/employers/{employer_id}/approve", json={"operator": "alice"}
    )
    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "active" and decided["decided_by"] == "alice"
    assert decided["decided_at"] is not None and decided["decision_reason"] is None

    mails = await mails_of(pool, employer_id)
    assert [m.kind for m in mails] == [AccountMail.EMPLOYER_APPROVED] * 2
    recipients = [
        BOX.unseal(m.sealed_recipient, employer_id, mail_recipient_binding(m.mail_id))
        for m in mails
    ]
    assert sorted(recipients) == sorted(addresses), "each admin, not the viewer"
    for mail in mails:
        assert mail.sealed_link is not None and SIGN_IN not in mail.model_dump_json()
        assert BOX.unseal(mail.sealed_link, employer_id, mail_link_binding(mail.mail_id)) == (
            SIGN_IN
        )

    again = await operator.post(
        f"/internal/v1/employers/{employer_id}/approve", json={"operator": "bob"}
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["code"] == "employer-not-pending"
    assert "已审核" in again.json()["message"]["zh"]
    assert "already been decided" in again.json()["message"]["en"]
    assert len(await mails_of(pool, employer_id)) == 2, "no second mail"
    row = await pool.fetchrow("SELECT status, decided_by FROM employers WHERE id = $1", employer_id)
    assert dict(row or {}) == {"status": "active", "decided_by": "alice"}


async def test_a_rejection_needs_a_reason_and_mails_it(
    operator: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    employer_id, _ = await signed_up(pool)
    path = f"/internal/v1/employers/{employer_id}/reject"
    for body in [{"operator": "alice"}, {"operator": "alice", "reason": "   "}]:
        refused = await operator.post(path, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "/reason"
    assert await mails_of(pool, employer_id) == []

    reason = "统一社会信用代码与单位名称不符 / the credit code names another company"
    response = await operator.post(path, json={"operator": "alice", "reason": reason})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == reason
    (mail,) = await mails_of(pool, employer_id)
    assert mail.kind is AccountMail.EMPLOYER_REJECTED and mail.sealed_link is None
    assert mail.note is not None and mail.note.en == reason

    approve = await operator.post(
        f"/internal/v1/employers/{employer_id}/approve", json={"operator": "bob"}
    )
    assert approve.status_code == 409
    rejected = await operator.get("/internal/v1/employers", params={"status": "rejected"})
    assert str(employer_id) in {item["id"] for item in rejected.json()["items"]}


@pytest.mark.parametrize("status", [EmployerStatus.UNVERIFIED, EmployerStatus.ACTIVE])
async def test_an_employer_not_pending_cannot_be_decided(
    operator: httpx.AsyncClient, pool: asyncpg.Pool, status: EmployerStatus
) -> None:
    employer_id, _ = await signed_up(pool, status)
    response = await operator.post(
        f"/internal/v1/employers/{employer_id}/approve", json={"operator": "alice"}
    )
    assert response.status_code == 409
    assert response.json()["message"]["zh"] and response.json()["message"]["en"]
    unknown = await operator.post(
        f"/internal/v1/employers/{uuid4()}/reject", json={"operator": "a", "reason": "r"}
    )
    assert unknown.status_code == 404
    after = await pool.fetchval("SELECT status FROM employers WHERE id = $1", employer_id)
    assert after == status.value and await mails_of(pool, employer_id) == []


async def test_the_operator_api_is_not_in_the_public_document(
    operator: httpx.AsyncClient,
) -> None:
    document = (await operator.get("/openapi.json")).json()
    assert not [path for path in document["paths"] if path.startswith("/internal")]


async def run_admin(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake.admin",
        *args,
        env=os.environ | {"INTAKE_DATABASE_URL": database_url, "QV_ENV": "development"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_cli_approves_through_the_same_use_case(
    pool: asyncpg.Pool, module_database: str
) -> None:
    employer_id, (address,) = await signed_up(pool)
    code = await pool.fetchval("SELECT credit_code FROM employers WHERE id = $1", employer_id)
    status, out, err = await run_admin(module_database, "approve-employer", "--credit-code", code)
    assert status == 0, err
    assert '"status": "active"' in out and '"decided_by": "cli:' in out
    (mail,) = await mails_of(pool, employer_id)
    assert mail.kind is AccountMail.EMPLOYER_APPROVED
    assert BOX.unseal(mail.sealed_recipient, employer_id, mail_recipient_binding(mail.mail_id)) == (
        address
    )
    status, _, err = await run_admin(module_database, "approve-employer", "--credit-code", code)
    assert status == 1 and "already been decided" in err and "已审核" in err


async def test_the_cli_rejects_with_a_reason_and_refuses_an_unknown_code(
    pool: asyncpg.Pool, module_database: str
) -> None:
    employer_id, _ = await signed_up(pool)
    code = await pool.fetchval("SELECT credit_code FROM employers WHERE id = $1", employer_id)
    decided = await decide_employer(code, "cli:ops", "名称不符 / name mismatch", module_database)
    assert decided["status"] == "rejected" and decided["decided_by"] == "cli:ops"
    (mail,) = await mails_of(pool, employer_id)
    assert mail.kind is AccountMail.EMPLOYER_REJECTED
    assert mail.note is not None and mail.note.zh == "名称不符 / name mismatch"
    status, _, err = await run_admin(
        module_database, "reject-employer", "--credit-code", credit_code(1), "--reason", "x"
    )
    assert status == 1 and "No such employer" in err and "未找到该用人单位" in err
