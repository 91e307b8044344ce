"""The public catalogue routes: search by name (Chinese or English, partial), body, field,
list; one qualification in full; the awarding bodies."""

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.intake.catalogue import EditionCatalogue
from services.intake.store.observations import WithdrawalRecord
from services.intake.store.repository import IntakeStore
from tests.intake.support import QUALIFICATION, anonymous_client, intake_app, write_channels

ROUTE = "/v1/catalogue/qualifications"
PAST_WITHDRAWN = "baft-a281b26c"


@pytest.fixture(scope="module")
def catalogue() -> EditionCatalogue:
    return EditionCatalogue.load()


@pytest_asyncio.fixture(scope="module")
async def client(
    catalogue: EditionCatalogue, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    # Catalogue routes never touch the database: a store without a pool proves it.
    store = IntakeStore(None)  # type: ignore[arg-type]
    app: Any = intake_app(store, write_channels(tmp_path_factory.mktemp("c")), catalogue)
    async with anonymous_client(app) as client:
        yield client


async def names(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(ROUTE, params=params)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_partial_names_in_english_and_chinese(client: httpx.AsyncClient) -> None:
    english = await names(client, q="leed ap")  # case-insensitive, partial
    assert english[0] == "LEED 认证专家证书 (LEED AP)"
    assert len(english) == 3 and all("LEED" in n for n in english)  # all three LEED AP
    english_name = await names(client, q="Solutions Architect Professional")
    assert english_name == ["解决方案架构师认证 (专业级)"]
    aws = (await client.get(ROUTE, params={"q": "Solutions Architect Professional"})).json()
    assert aws["items"][0]["name_en"] == "AWS Certified Solutions Architect - Professional"
    by_body_alias = await names(client, q="阿里云技术")  # httpx URL-encodes it
    assert by_body_alias == ["阿里云云计算工程师 ACA"]
    by_dash = await names(client, q="HCIE-Datacom")
    assert by_dash == ["华为数通网络专家认证 HCIE—Datacom"]
    chinese = await names(client, q="会计师", limit=100)
    assert {"ACCA 会计师证书", "香港注册会计师", "CGMA 会员证书"} <= set(chinese)  # CGMA: body


async def test_filter_by_body_field_and_list(client: httpx.AsyncClient) -> None:
    by_body = (await client.get(ROUTE, params={"body": "aws"})).json()["items"]
    assert by_body and all("aws" in item["body_ids"] for item in by_body)
    by_field = (await client.get(ROUTE, params={"field": "金融", "limit": 100})).json()["items"]
    assert by_field and all("金融" in item["fields"] for item in by_field)
    urgent = (await client.get(ROUTE, params={"list": "urgent", "limit": 100})).json()
    assert urgent["total"] == len(urgent["items"]) > 0
    assert all("urgent" in [m["list"] for m in item["lists"]] for item in urgent["items"])
    bad_list = await client.get(ROUTE, params={"list": "favourites"})
    assert bad_list.status_code == 422 and bad_list.json()["errors"][0]["pointer"] == "/list"


async def test_pages_with_cursor_cover_the_whole_catalogue(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(ROUTE, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == page["total"] == 163
    foreign = await client.get(ROUTE, params={"q": "ACCA", "cursor": "bm90LW1pbmU6MTA"})
    assert foreign.status_code == 400
    assert foreign.json()["type"] == "/problems/invalid-cursor"


async def test_one_qualification_with_bodies_lists_benefits(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ROUTE}/baft-a281b26c")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert sorted(b["id"] for b in detail["bodies"]) == ["baft", "icc", "libf"]
    assert detail["lists"] and detail["lists"][0]["benefits"]
    assert detail["lists"][0]["name_zh"] and detail["lists"][0]["name_en"]
    assert detail["withdrawal"] is None and detail["edition"]
    missing = await client.get(f"{ROUTE}/no-such-thing")
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"


async def test_a_withdrawal_shows(client: httpx.AsyncClient, catalogue: EditionCatalogue) -> None:
    catalogue.replace_withdrawals([WithdrawalRecord(QUALIFICATION, date(2025, 7, 1), "exit")])
    try:
        detail = (await client.get(f"{ROUTE}/{QUALIFICATION}")).json()
        assert detail["withdrawal"] == {"date": "2025-07-01", "reason": "exit", "in_effect": True}
        item = (await client.get(ROUTE, params={"body": "aws", "q": "解决方案架构师认证"})).json()
        assert item["items"][0]["withdrawn"] is True
    finally:
        catalogue.replace_withdrawals([])


async def test_bodies(client: httpx.AsyncClient) -> None:
    bodies = (await client.get("/v1/catalogue/bodies")).json()["items"]
    aws = next(b for b in bodies if b["id"] == "aws")
    assert aws["qualification_count"] >= 1 and aws["name"]


async def test_withdrawn_from_the_date_not_before(
    client: httpx.AsyncClient, catalogue: EditionCatalogue
) -> None:
    """One rule for browse, search and acceptance: a withdrawal a month ahead is only
    scheduled; one dated today is in effect; both stay in the catalogue as history."""
    today = datetime.now(UTC).date()
    ahead = today + timedelta(days=30)
    catalogue.replace_withdrawals(
        [
            WithdrawalRecord(QUALIFICATION, ahead, "exit review"),
            WithdrawalRecord(PAST_WITHDRAWN, today, "exit review"),
        ]
    )
    try:
        scheduled = (await client.get(f"{ROUTE}/{QUALIFICATION}")).json()
        assert scheduled["withdrawal"] == {
            "date": ahead.isoformat(),
            "reason": "exit review",
            "in_effect": False,
        }
        facts = catalogue.facts(QUALIFICATION)
        assert facts is not None and not facts.withdrawn  # applications still accepted
        past_facts = catalogue.facts(PAST_WITHDRAWN)
        assert past_facts is not None and past_facts.withdrawn

        everything = await summaries(client, limit=100)
        assert everything[QUALIFICATION]["withdrawn"] is False
        assert everything[QUALIFICATION]["withdrawn_on"] == ahead.isoformat()
        assert everything[PAST_WITHDRAWN]["withdrawn"] is True
        active = await summaries(client, limit=100, active_only="true")
        assert QUALIFICATION in active and PAST_WITHDRAWN not in active
        assert len(active) == len(everything) - 1
    finally:
        catalogue.replace_withdrawals([])


async def summaries(client: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page_params = params | ({"cursor": cursor} if cursor else {})
        response = await client.get(ROUTE, params=page_params)
        assert response.status_code == 200, response.text
        page = response.json()
        found |= {item["id"]: item for item in page["items"]}
        cursor = page["next_cursor"]
        if cursor is None:
            return found
