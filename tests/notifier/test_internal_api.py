"""The notifier's internal API (for intake) on a real PostgreSQL: token, listing, replay."""

from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from services.notifier.api.internal import internal_routes
from services.notifier.store.repository import NotifierStore
from tests.notifier.events import configured, new_secret, verdict

pytestmark = pytest.mark.integration
TOKEN = "test-internal-token"
HOOK = "http://127.0.0.1:9/hooks"


@pytest_asyncio.fixture
async def api(notifier_pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=internal_routes(NotifierStore(notifier_pool), TOKEN))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://notifier",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def test_calls_without_the_shared_token_are_refused(api: httpx.AsyncClient) -> None:
    path = f"/internal/v1/employers/{uuid4()}/deliveries"
    assert (await api.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await api.get(path, headers={"Authorization": ""})).status_code == 401
    assert (
        await api.post(path + "/msg_x/replay", headers={"Authorization": ""})
    ).status_code == 401


async def test_an_employer_pages_through_its_own_deliveries_only(
    api: httpx.AsyncClient, notifier_pool: asyncpg.Pool
) -> None:
    store = NotifierStore(notifier_pool)
    mine, theirs = uuid4(), uuid4()
    for employer in (mine, theirs):
        await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    for _ in range(3):
        await store.accept_verdict(verdict(mine), None)
    await store.accept_verdict(verdict(theirs), None)

    first = (await api.get(f"/internal/v1/employers/{mine}/deliveries?limit=2")).json()
    assert len(first["items"]) == 2 and first["next_before"] is not None
    rest = await api.get(
        f"/internal/v1/employers/{mine}/deliveries",
        params={"limit": 2, "before": first["next_before"]},
    )
    items = first["items"] + rest.json()["items"]
    assert len(items) == 3 and rest.json()["next_before"] is None
    assert {i["status"] for i in items} == {"pending"}
    assert {i["destination"] for i in items} == {HOOK}
    (item,) = (
        await api.get(
            f"/internal/v1/employers/{mine}/deliveries",
            params={"request_id": items[0]["request_id"]},
        )
    ).json()["items"]
    assert item["id"] == items[0]["id"]


async def test_bad_queries_are_refused(api: httpx.AsyncClient) -> None:
    base = f"/internal/v1/employers/{uuid4()}/deliveries"
    for query in ("status=lost", "limit=0", "limit=201", "request_id=x", "before=x"):
        assert (await api.get(f"{base}?{query}")).status_code == 422, query
    assert (await api.get("/internal/v1/employers/not-a-uuid/deliveries")).status_code == 422


async def test_replay_answers_the_delivery_or_404(
    api: httpx.AsyncClient, notifier_pool: asyncpg.Pool
) -> None:
    store = NotifierStore(notifier_pool)
    employer = uuid4()
    await store.configure_endpoints(configured(employer, {HOOK: new_secret()}))
    await store.accept_verdict(verdict(employer), None)
    (due,) = await store.claim_due(1, lease_seconds=30)
    await store.mark_failed_attempt(due.webhook_id, "ConnectError", None)

    base = f"/internal/v1/employers/{employer}/deliveries"
    replayed = await api.post(f"{base}/{due.webhook_id}/replay")
    assert replayed.status_code == 202
    assert (replayed.json()["id"], replayed.json()["status"]) == (due.webhook_id, "pending")
    assert (await api.post(f"{base}/msg_missing/replay")).status_code == 404
    other = f"/internal/v1/employers/{uuid4()}/deliveries/{due.webhook_id}/replay"
    assert (await api.post(other)).status_code == 404


async def test_out_of_range_cursors_and_malformed_ids_are_refused_not_failed(
    api: httpx.AsyncClient,
) -> None:
    base = f"/internal/v1/employers/{uuid4()}/deliveries"
    for before in ("99999999999999999999", str(2**63), "0", "-1"):
        response = await api.get(base, params={"before": before})
        assert response.status_code == 422, (before, response.text)
    assert (await api.get(base, params={"before": str(2**63 - 1)})).status_code == 200
    for webhook_id in ("%00", "%7F", "msg_" + "0" * 40):
        assert (await api.post(f"{base}/{webhook_id}/replay")).status_code == 404, webhook_id


async def test_an_employer_reads_its_own_email_recipients_only(
    api: httpx.AsyncClient, notifier_pool: asyncpg.Pool
) -> None:
    store = NotifierStore(notifier_pool)
    mine, theirs = uuid4(), uuid4()
    await store.configure_endpoints(configured(mine, {}, emails=["HR@Example.cn", "a@b.cn"]))
    await store.configure_endpoints(configured(theirs, {}, emails=["x@y.cn"]))
    answer = await api.get(f"/internal/v1/employers/{mine}/emails")
    assert answer.json() == {"addresses": ["HR@example.cn", "a@b.cn"]}
    unset = await api.get(f"/internal/v1/employers/{uuid4()}/emails")
    assert unset.json() == {"addresses": []}
    refused = await api.get(f"/internal/v1/employers/{mine}/emails", headers={"Authorization": ""})
    assert refused.status_code == 401
