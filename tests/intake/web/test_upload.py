"""Many applications from a CSV file on the employer pages: the API's parsing, dry run and
submission, with its per-row results and whole-file refusals."""

import re
from typing import Any

import asyncpg
import httpx
import pytest

from services.intake.api.batch_input import EXAMPLE_CSV
from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.intake.support import PMI_QUALIFICATION, QUALIFICATION
from tests.intake.web.support import client_as, csrf_token, session_for

pytestmark = pytest.mark.integration

HEADER = (
    "qualification_id,region,holder_name,nationality,document_type,document_number,"
    "certificate_number,issued_on,consent\n"
)
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def csv_of(*numbers_and_qualifications: tuple[str, str]) -> bytes:
    rows = [
        f"{qualification},beijing,ZHANG Wei,CHN,resident_id,11010519491231002X,{number},"
        "2024-03-01,true\n"
        for number, qualification in numbers_and_qualifications
    ]
    return (HEADER + "".join(rows)).encode()


async def upload(
    client: httpx.AsyncClient, content: bytes, action: str, key: str | None = None
) -> httpx.Response:
    page = await client.get("/upload")
    found = KEY.search(page.text)
    assert found is not None
    # The token first: asgi-csrf reads it only before the file part.
    data: dict[str, Any] = {
        "csrftoken": csrf_token(page.text),
        "idempotency_key": key or found.group(1),
        "action": action,
    }
    files = {"file": ("hires.csv", content, "text/csv")}
    return await client.post("/upload", data=data, files=files)


async def count_requests(pool: asyncpg.Pool, prefix: str) -> int:
    found: int = await pool.fetchval(
        "SELECT count(*) FROM intake.requests WHERE certificate_number LIKE $1", prefix + "%"
    )
    return found


async def test_checking_a_file_gives_each_rows_result_and_stores_nothing(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    content = csv_of(("CSV-CHECK-1", QUALIFICATION), ("CSV-CHECK-2", PMI_QUALIFICATION))
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await upload(client, content, "check")
    assert answer.status_code == 200, answer.text
    assert "The file was checked (nothing stored)" in answer.text
    first = _row(answer.text, 1)
    second = _row(answer.text, 2)
    assert "In order" in first and "Expected completion" in first
    assert "Refused" in second
    assert "<code>channel.credential_jwt</code>" in second
    assert "颁发机构核验需要此字段：credential_jwt" in second  # both languages
    assert "the awarding body&#39;s channel needs this field: credential_jwt" in second
    assert await count_requests(pool, "CSV-CHECK-") == 0


async def test_submitting_a_file_accepts_the_good_row_and_refuses_the_bad_one_once(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    content = csv_of(("CSV-SUB-1", QUALIFICATION), ("CSV-SUB-2", PMI_QUALIFICATION))
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        first = await upload(client, content, "submit", key="web-batch-test-1")
        again = await upload(client, content, "submit", key="web-batch-test-1")
        other = await upload(
            client, csv_of(("CSV-SUB-3", QUALIFICATION)), "submit", "web-batch-test-1"
        )
        fresh = await upload(client, content, "submit")  # a new form: the good row is in flight
    assert first.status_code == 200, first.text
    assert "The batch was submitted" in first.text
    accepted = _row(first.text, 1)
    link = re.search(r'href="/applications/([0-9a-f-]{36})"', accepted)
    assert "Accepted" in accepted and link is not None
    assert "<code>channel.credential_jwt</code>" in _row(first.text, 2)
    assert link.group(1) in again.text  # the same key and file: the original answer
    assert other.status_code == 422 and "This form already sent another file" in other.text
    assert "Already in progress" in _row(fresh.text, 1) and link.group(1) in fresh.text
    assert await count_requests(pool, "CSV-SUB-") == 1


@pytest.mark.parametrize(
    ("content", "english", "chinese"),
    [
        (b"qualification_id,region\naws-e94e5145,beijing\n", "bad header", "表头错误"),
        (HEADER.encode() + b"a,b\n", "has 2 cells, the header 9", "第 1 行有 2 列"),
        (b"\xff\xfe" + HEADER.encode(), "not UTF-8", "须为 UTF-8 编码"),
        (HEADER.encode(), "The batch holds no applications", "批次中没有任何申请"),
    ],
)
async def test_a_malformed_file_is_refused_as_a_whole_in_both_languages(
    deps: WebDeps, web_url: str, content: bytes, english: str, chinese: str
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await upload(client, content, "check")
    assert answer.status_code == 422
    assert "The batch is malformed" in answer.text
    assert english in answer.text and chinese in answer.text


async def test_too_many_rows_are_refused_as_a_whole(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    rows = [(f"CSV-BIG-{n}", QUALIFICATION) for n in range(deps.settings.max_batch_rows + 1)]
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await upload(client, csv_of(*rows), "submit")
    assert answer.status_code == 422
    assert f"A batch holds at most {deps.settings.max_batch_rows} applications" in answer.text
    assert await count_requests(pool, "CSV-BIG-") == 0


async def test_no_file_chosen_is_refused_beside_the_file_field(deps: WebDeps, web_url: str) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await upload(client, b"", "check")
    assert answer.status_code == 422
    assert 'id="file-error"' in answer.text and "Choose a CSV file" in answer.text


async def test_the_template_csv_is_the_apis_example(deps: WebDeps, web_url: str) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    viewer = await session_for(deps, Role.VIEWER)
    async with client_as(web_url, applicant) as client:
        template = await client.get("/upload/template.csv")
        page = await client.get("/upload")
    async with client_as(web_url, viewer) as client:
        refused = await client.get("/upload")
        refused_template = await client.get("/upload/template.csv")
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    assert template.text == EXAMPLE_CSV
    for column in ("qualification_id", "document_number", "channel.&lt;field&gt;", "body_ids"):
        assert column in page.text
    assert refused.status_code == refused_template.status_code == 403


def _row(html: str, number: int) -> str:
    found = re.search(rf'<tr id="result-row-{number}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row {number}"
    return found.group(1)


@pytest.mark.parametrize("token", [None, "forged", "first"])
async def test_an_upload_without_the_pages_csrf_token_is_refused(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool, token: str | None
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    content = csv_of(("CSV-CSRF-1", QUALIFICATION))
    async with client_as(web_url, applicant) as client:
        page = await client.get("/upload")
        data = {"action": "submit"}
        if token == "forged":
            data["csrftoken"] = csrf_token(page.text)[:-2] + "xx"
        elif token == "first":  # another browser's token, with this browser's cookie
            async with client_as(web_url, applicant) as other:
                data["csrftoken"] = csrf_token((await other.get("/upload")).text)
        files = {"file": ("hires.csv", content, "text/csv")}
        answer = await client.post("/upload", data=data, files=files)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert await count_requests(pool, "CSV-CSRF-") == 0
