"""Every error intake answers is an RFC 9457 problem in Chinese and English: bodies that do
not parse, routes and methods that do not exist, and input that PostgreSQL would refuse."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import (
    anonymous_client,
    application,
    client_for,
    credit_code,
    intake_app,
    write_channels,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def channels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_channels(tmp_path_factory.mktemp("channels"))


@pytest_asyncio.fixture(scope="module")
async def app(pool: asyncpg.Pool, channels_file: Path) -> Any:
    return intake_app(IntakeStore(pool), channels_file)


@pytest_asyncio.fixture
async def employer(app: Any, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, IntakeStore(pool), credit_code(7001)) as client:
        client.headers["Content-Type"] = "application/json"
        yield client


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == problem_type, body
    assert body["status"] == status
    assert body["message"]["zh"] and body["message"]["en"], body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]["zh"]), body
    return body


async def test_deeply_nested_json_is_a_malformed_json_problem(
    employer: httpx.AsyncClient,
) -> None:
    response = await employer.post("/v1/verifications", content=b"[" * 100_000)
    body = assert_problem(response, 400, "/problems/malformed-json")
    assert "nest" in body["detail"]


async def test_a_body_that_is_not_utf8_is_a_malformed_json_problem(
    employer: httpx.AsyncClient,
) -> None:
    raw = '{"qualification_id": "caf\xe9"}'.encode("latin-1")
    response = await employer.post("/v1/verifications", content=raw)
    body = assert_problem(response, 400, "/problems/malformed-json")
    assert "UTF-8" in body["detail"]


async def test_invalid_json_names_its_line_and_column(employer: httpx.AsyncClient) -> None:
    raw = b'{\n  "qualification_id": "aws-e94e5145",\n  "region" "beijing"\n}'
    response = await employer.post("/v1/verifications", content=raw)
    body = assert_problem(response, 400, "/problems/malformed-json")
    assert (body["line"], body["column"]) == (3, 12), body
    assert "line 3, column 12" in body["detail"]


async def test_unknown_routes_and_methods_are_problems(app: Any) -> None:
    async with anonymous_client(app) as anonymous:
        missing = await anonymous.get("/v1/no-such-thing")
        assert_problem(missing, 404, "/problems/not-found")
        wrong_method = await anonymous.delete("/v1/catalogue/bodies")
    assert_problem(wrong_method, 405, "/problems/method-not-allowed")
    assert wrong_method.headers["allow"] == "GET"


async def test_a_nul_in_a_list_filter_is_refused_with_a_pointer(
    employer: httpx.AsyncClient,
) -> None:
    for name in ("certificate_number", "qualification_id"):
        response = await employer.get("/v1/verifications", params={name: "\x00"})
        body = assert_problem(response, 422, "/problems/invalid-field")
        assert [e["pointer"] for e in body["errors"]] == [f"/{name}"]


async def test_control_characters_in_channel_fields_are_refused(
    employer: httpx.AsyncClient,
) -> None:
    request = application("AWS-NUL")
    for fields in ({"a": "\x00"}, {"a\x00": "x"}, {"a": "line\x1fbreak"}):
        request["certificate"]["channel_fields"] = fields
        response = await employer.post("/v1/verifications", json=request)
        body = assert_problem(response, 422, "/problems/invalid-field")
        assert all(
            e["pointer"].startswith("/certificate/channel_fields") for e in body["errors"]
        ), body


async def test_a_nul_in_the_holders_chinese_name_is_refused(employer: httpx.AsyncClient) -> None:
    request = application("AWS-NUL-2")
    request["holder"]["name_zh"] = "张\x00伟"
    response = await employer.post("/v1/verifications", json=request)
    body = assert_problem(response, 422, "/problems/invalid-field")
    assert [e["pointer"] for e in body["errors"]] == ["/holder/name_zh"]


async def test_malformed_delivery_ids_are_refused(
    employer: httpx.AsyncClient,
) -> None:
    response = await employer.post("/v1/webhooks/deliveries/%7F/replay")
    body = assert_problem(response, 422, "/problems/invalid-field")
    assert [e["pointer"] for e in body["errors"]] == ["/delivery_id"]


async def test_an_out_of_range_delivery_cursor_is_refused(employer: httpx.AsyncClient) -> None:
    response = await employer.get(
        "/v1/webhooks/deliveries", params={"before": "99999999999999999999"}
    )
    body = assert_problem(response, 422, "/problems/invalid-field")
    assert [e["pointer"] for e in body["errors"]] == ["/before"]


async def test_a_method_the_path_lacks_is_405_naming_every_method_it_has(
    employer: httpx.AsyncClient,
) -> None:
    options = await employer.options("/v1/verifications")
    assert_problem(options, 405, "/problems/method-not-allowed")
    assert options.headers["allow"] == "GET, POST"
    check = await employer.get("/v1/verifications/check")
    assert_problem(check, 405, "/problems/method-not-allowed")
    assert check.headers["allow"] == "POST"


async def test_dates_in_queries_must_be_rfc3339(employer: httpx.AsyncClient) -> None:
    for name in ("accepted_from", "accepted_to", "before"):
        response = await employer.get("/v1/verifications", params={name: "0.5"})
        body = assert_problem(response, 422, "/problems/invalid-field")
        assert [e["pointer"] for e in body["errors"]] == [f"/{name}"]
    listed = await employer.get(
        "/v1/verifications", params={"accepted_from": "2025-06-01T09:30:00Z"}
    )
    assert listed.status_code == 200, listed.text


async def test_a_batch_row_that_is_not_an_object_makes_the_batch_malformed(
    employer: httpx.AsyncClient,
) -> None:
    response = await employer.post("/v1/verification-batches/check", json=[application(), [1]])
    body = assert_problem(response, 400, "/problems/malformed-batch")
    assert [e["pointer"] for e in body["errors"]] == ["/1"]


async def test_a_batch_row_with_a_nul_in_a_field_name_is_refused_and_remembered(
    employer: httpx.AsyncClient,
) -> None:
    row = application("AWS-NUL-KEY") | {"\x00x": 1}
    sent = {"json": [row], "headers": {"Idempotency-Key": "nul-in-a-field-name"}}
    first = await employer.post("/v1/verification-batches", **sent)  # type: ignore[arg-type]
    assert first.status_code == 200, first.text
    (result,) = first.json()["results"]
    assert result["result"] == "refused"
    assert [e["pointer"] for e in result["problem"]["errors"]] == ["/\\u0000x"]
    again = await employer.post("/v1/verification-batches", **sent)  # type: ignore[arg-type]
    assert again.json() == first.json()


class _FailingStore(IntakeStore):
    async def authenticate(self, api_key: str) -> UUID | None:
        raise RuntimeError(f"lookup failed for holder ZHANG Wei, key {api_key}")


async def test_an_unexpected_error_is_a_500_problem_logged_without_its_message(
    pool: asyncpg.Pool, channels_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = intake_app(_FailingStore(pool), channels_file)
    async with anonymous_client(app) as client:
        response = await client.get(
            "/v1/verifications", headers={"Authorization": "Bearer qv_secret_key"}
        )
    body = assert_problem(response, 500, "/problems/internal-error")
    assert "ZHANG" not in response.text and "qv_secret_key" not in response.text
    (record,) = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    assert record.__dict__["error"] == "RuntimeError"
    assert record.exc_info is None
    everything = caplog.text + repr(record.__dict__)
    assert "ZHANG" not in everything and "qv_secret_key" not in everything
    assert body["instance"] == "/v1/verifications"
