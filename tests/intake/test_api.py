"""Intake's HTTP API on a real PostgreSQL: acceptance, refusals as problem details,
idempotency, duplicates in flight, and tenant isolation."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.intake.api.routes import IntakeContext, create_app
from services.intake.catalogue import EditionCatalogue
from services.intake.store.repository import MIGRATIONS, IntakeStore
from services.runtime.db import apply_migrations, create_pool, read_migrations

QUALIFICATION = "aws-e94e5145"
JOINT_QUALIFICATION = "baft-a281b26c"  # CDCS: LIBF, ICC and BAFT award it jointly


@pytest_asyncio.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(module_database, "intake")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="module")
async def store(pool: asyncpg.Pool) -> IntakeStore:
    return IntakeStore(pool)


@pytest_asyncio.fixture(scope="module")
async def app(store: IntakeStore) -> Any:
    context = IntakeContext(
        store=store,
        catalogue=EditionCatalogue.load(),
        holder_ref_key=b"test-key",
        turnaround=timedelta(seconds=5),
    )
    return create_app(context, health={})


async def client_for(app: Any, store: IntakeStore, credit_code: str) -> httpx.AsyncClient:
    _, api_key = await store.create_employer(credit_code, "Employer " + credit_code[-4:])
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://intake",
        headers={"Authorization": f"Bearer {api_key}"},
    )


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


@pytest_asyncio.fixture
async def employer_a(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, "91110108MA01ABCD2H") as client:
        yield client


@pytest_asyncio.fixture
async def employer_b(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, "911100007109288314") as client:
        yield client


async def test_accepts_an_eligible_request_and_writes_its_event_in_the_outbox(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    response = await employer_a.post("/v1/verifications", json=application("AWS-ACCEPT"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert response.headers["location"] == f"/v1/verifications/{body['id']}"
    assert datetime.fromisoformat(body["expected_completion_at"]) > datetime.now(UTC)
    assert body["disclaimer"]["zh"] and body["disclaimer"]["en"]
    in_outbox = await pool.fetchval(
        "SELECT count(*) FROM intake.outbox WHERE key = $1", body["id"].encode()
    )
    assert in_outbox == 1


async def test_joint_award_goes_to_every_body(employer_a: httpx.AsyncClient) -> None:
    body = application("CDCS-1", qualification_id=JOINT_QUALIFICATION)
    response = await employer_a.post("/v1/verifications", json=body)
    assert response.status_code == 202, response.text
    assert sorted(response.json()["body_ids"]) == ["baft", "icc", "libf"]


@pytest.mark.parametrize(
    ("changes", "code", "pointer"),
    [
        ({"qualification_id": "no-such-thing"}, "unknown-qualification", "/qualification_id"),
        ({"body_ids": ["pmi"]}, "body-does-not-award", "/body_ids/0"),
        ({"consent": False}, "consent-required", "/consent"),
        (
            {"certificate": {"number": "X-1", "issued_on": str(date.today() + timedelta(days=3))}},
            "date-in-future",
            "/certificate/issued_on",
        ),
        (
            {
                "certificate": {
                    "number": "X-2",
                    "issued_on": "2020-01-01",
                    "expires_on": "2021-01-01",
                }
            },
            "certificate-expired",
            "/certificate/expires_on",
        ),
        ({"region": "shanghai"}, "invalid-field", "/region"),
        ({"holder": {"name": "A"}}, "invalid-field", "/holder/nationality"),
    ],
)
async def test_refusals_are_specific_problem_details(
    employer_a: httpx.AsyncClient, changes: dict[str, Any], code: str, pointer: str
) -> None:
    response = await employer_a.post("/v1/verifications", json=application(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{code}"
    assert problem["status"] == 422
    assert problem["message"]["zh"] and problem["message"]["en"]
    assert pointer in [error["pointer"] for error in problem["errors"]]


async def test_bad_resident_id_check_digit_is_refused(employer_a: httpx.AsyncClient) -> None:
    holder = application()["holder"] | {"document_number": "110105194912310021"}
    response = await employer_a.post("/v1/verifications", json=application(holder=holder))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/holder/document_number"


async def test_missing_or_wrong_api_key_is_401(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as anonymous:
        response = await anonymous.post("/v1/verifications", json=application())
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/unauthenticated"
        forged = {"Authorization": "Bearer qv_000000000000_forged"}
        response = await anonymous.get("/v1/verifications", headers=forged)
        assert response.status_code == 401


async def test_a_request_in_flight_is_returned_not_duplicated(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    first = await employer_a.post("/v1/verifications", json=application("AWS-DUP"))
    second = await employer_a.post("/v1/verifications", json=application("AWS-DUP"))
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM intake.requests WHERE certificate_number = 'AWS-DUP'"
        )
        == 1
    )


async def test_idempotency_key_replays_and_refuses_a_different_body(
    employer_a: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = await employer_a.post("/v1/verifications", json=application("AWS-IK"), headers=headers)
    again = await employer_a.post("/v1/verifications", json=application("AWS-IK"), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = await employer_a.post("/v1/verifications", json=application("AWS-IK2"), headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_an_employer_cannot_see_another_employers_request(
    employer_a: httpx.AsyncClient, employer_b: httpx.AsyncClient
) -> None:
    created = await employer_a.post("/v1/verifications", json=application("AWS-TENANT"))
    request_id = created.json()["id"]
    assert (await employer_a.get(f"/v1/verifications/{request_id}")).status_code == 200
    response = await employer_b.get(f"/v1/verifications/{request_id}")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    listed = (await employer_b.get("/v1/verifications")).json()["items"]
    assert request_id not in [item["id"] for item in listed]
