"""Batches of applications (JSON and CSV) and their dry run, on a real PostgreSQL."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import (
    PMI_QUALIFICATION,
    application,
    client_for,
    credit_code,
    intake_app,
    write_channels,
)

BATCHES = "/v1/verification-batches"

CSV_HEADER = (
    "qualification_id,region,holder_name,holder_name_zh,nationality,document_type,"
    "document_number,certificate_number,issued_on,expires_on,consent,channel.credential_jwt\n"
)


@pytest.fixture(scope="module")
def app(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    channels: Path = write_channels(tmp_path_factory.mktemp("channels"))
    return intake_app(store, channels, max_batch_rows=5)


@pytest_asyncio.fixture
async def employer(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, credit_code(8001)) as client:
        yield client


async def count(pool: asyncpg.Pool, table: str) -> int:
    value: int = await pool.fetchval(f"SELECT count(*) FROM intake.{table}")
    return value


async def test_json_batch_gives_a_result_per_row_and_stores_each_accepted_row_with_its_event(
    employer: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    requests, outbox = await count(pool, "requests"), await count(pool, "outbox")
    rows = [
        application("B-1"),
        application("B-2", consent=False),
        {"qualification_id": "aws-e94e5145"},
        application("B-1"),  # the same certificate again: the first row's request
    ]
    response = await employer.post(BATCHES, json=rows)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["accepted"], body["already_in_flight"], body["refused"]) == (
        4,
        1,
        1,
        2,
    )
    results = body["results"]
    assert [r["result"] for r in results] == [
        "accepted",
        "refused",
        "refused",
        "already_in_flight",
    ]
    assert results[0]["verification"]["status"] == "accepted"
    assert results[0]["verification"]["expected_completion_at"]
    assert results[3]["verification"]["id"] == results[0]["verification"]["id"]
    assert results[1]["problem"]["type"] == "/problems/consent-required"
    pointers = [e["pointer"] for e in results[2]["problem"]["errors"]]
    assert "/holder" in pointers and "/region" in pointers
    assert await count(pool, "requests") == requests + 1
    assert await count(pool, "outbox") == outbox + 1


async def test_csv_batch_with_channel_columns_and_column_names_in_problems(
    employer: httpx.AsyncClient,
) -> None:
    csv = (
        CSV_HEADER + "aws-e94e5145,beijing,ZHANG Wei,张伟,CHN,resident_id,11010519491231002X,C-1,"
        "2024-03-01,,true,\n"
        + f"{PMI_QUALIFICATION},hebei,Kenji Nguyen,,JPN,passport,TK1234567,C-2,2023-05-10,"
        "2030-05-10,true,\n"
        + "aws-e94e5145,tianjin,LI Na,,CHN,resident_id,110105194912310021,C-3,2024-03-01,,"
        "true,\n"
    )
    response = await employer.post(
        BATCHES, content=csv.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["accepted", "refused", "refused"]
    missing = results[1]["problem"]
    assert missing["type"] == "/problems/missing-channel-field"
    assert missing["errors"][0]["column"] == "channel.credential_jwt"
    assert results[2]["problem"]["errors"][0]["column"] == "document_number"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code", "mentions"),
    [
        (
            CSV_HEADER + "aws-e94e5145,beijing,too,few\n",
            "text/csv",
            400,
            "malformed-batch",
            "row 1",
        ),
        ('x,y\n"unterminated', "text/csv", 400, "malformed-batch", "unknown columns"),
        ("qualification_id\n", "text/csv", 400, "malformed-batch", "missing"),
        ("[1, 2", "application/json", 400, "malformed-batch", "JSON"),
        ('{"rows": []}', "application/json", 400, "malformed-batch", "array"),
        ("[]", "application/json", 400, "malformed-batch", "no applications"),
        ("[{}, {}, {}, {}, {}, {}]", "application/json", 413, "batch-too-large", "6 rows"),
        ("<xml/>", "application/xml", 415, "unsupported-media-type", "text/csv"),
    ],
)
async def test_whole_batch_problems(
    employer: httpx.AsyncClient,
    pool: asyncpg.Pool,
    content: str,
    content_type: str,
    status: int,
    code: str,
    mentions: str,
) -> None:
    requests = await count(pool, "requests")
    response = await employer.post(
        BATCHES, content=content.encode(), headers={"Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{code}"
    assert mentions in problem["detail"] + problem["title"]
    assert await count(pool, "requests") == requests


async def test_csv_quoting_error_names_the_line(employer: httpx.AsyncClient) -> None:
    csv = CSV_HEADER + 'aws-e94e5145,beijing,"ZHANG "Wei",,CHN,resident_id,1,C,2024-03-01,,true,\n'
    response = await employer.post(
        BATCHES, content=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400
    assert "line 2" in response.json()["detail"]


async def test_batch_idempotency_key_replays_the_answer_and_refuses_another_batch(
    employer: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    headers = {"Idempotency-Key": "batch-1"}
    rows = [application("IK-1"), application("IK-2")]
    first = await employer.post(BATCHES, json=rows, headers=headers)
    requests = await count(pool, "requests")
    again = await employer.post(BATCHES, json=rows, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await count(pool, "requests") == requests
    other = await employer.post(BATCHES, json=[application("IK-3")], headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    single = await employer.post("/v1/verifications", json=application("IK-3"), headers=headers)
    assert single.status_code == 409


async def test_batch_dry_run_checks_each_row_and_stores_nothing(
    employer: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    requests, outbox = await count(pool, "requests"), await count(pool, "outbox")
    rows = [application("DRY-1"), application("DRY-2", qualification_id="nope")]
    response = await employer.post(f"{BATCHES}/check", json=rows)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["ok"], body["refused"]) == (2, 1, 1)
    assert body["results"][0]["ok"] is True and body["results"][0]["body_ids"] == ["aws"]
    assert body["results"][1]["problem"]["type"] == "/problems/unknown-qualification"
    assert await count(pool, "requests") == requests
    assert await count(pool, "outbox") == outbox


async def test_batches_need_credentials(app: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as anonymous:
        response = await anonymous.post(BATCHES, json=[application()])
    assert response.status_code == 401
