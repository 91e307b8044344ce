"""Intake's notification settings over HTTP: e-mail recipients, webhook URLs and secrets."""

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import client_for, credit_code, intake_app, write_channels

pytestmark = pytest.mark.integration


def app_with_egress_allow(
    store: IntakeStore, tmp_path_factory: pytest.TempPathFactory, allow: str
) -> Any:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("QV_EGRESS_ALLOW", allow)
        return intake_app(
            store, write_channels(tmp_path_factory.mktemp("channels")), own_urls=(OWN_WEB,)
        )


@pytest.fixture(scope="module")
def app(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return app_with_egress_allow(store, tmp_path_factory, "")  # as in production


@pytest.fixture(scope="module")
def development_app(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return app_with_egress_allow(store, tmp_path_factory, "127.0.0.1,::1,localhost")


_serial = iter(range(7000, 8000))
OWN_WEB = "http://127.0.0.1:8086"  # intake's own employer pages


@pytest_asyncio.fixture
async def employer(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, credit_code(next(_serial))) as client:
        yield client


@pytest.mark.parametrize(
    "address",
    ["hr\u001c@example.cn", "hr\u0000@example.cn", "hr@exa mple.cn", "hr@@example.cn", "hr@cn"],
)
async def test_malformed_email_addresses_are_refused_with_a_pointer(
    employer: httpx.AsyncClient, pool: asyncpg.Pool, address: str
) -> None:
    response = await employer.put(
        "/v1/webhooks/emails", json={"addresses": ["hr@example.cn", address]}
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/invalid-field"
    assert [e["pointer"] for e in problem["errors"]] == ["/addresses/1"]
    assert problem["message"]["zh"] and problem["message"]["en"]


async def test_valid_addresses_are_stored_normalised(employer: httpx.AsyncClient) -> None:
    response = await employer.put(
        "/v1/webhooks/emails", json={"addresses": ["HR@Example.CN", "招聘@例子.中国"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["addresses"] == ["HR@example.cn", "招聘@例子.中国"]


ISSUE_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:5432/",
    "http://10.0.0.1/",
    "http://[::1]:22/",
    "http://metadata.google.internal/computeMetadata/v1/",
    OWN_WEB + "/webhooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd12:3456::1]/hook",
]


@pytest.mark.parametrize("url", ISSUE_URLS)
async def test_webhook_urls_to_internal_or_metadata_hosts_are_refused(
    employer: httpx.AsyncClient, url: str
) -> None:
    response = await employer.put("/v1/webhooks", json={"urls": [url]})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/forbidden-webhook-url"
    assert [e["pointer"] for e in problem["errors"]] == ["/urls/0"]
    assert problem["errors"][0]["message"]["zh"] and problem["errors"][0]["message"]["en"]


async def test_the_development_allow_list_admits_local_receivers_but_not_the_platform(
    development_app: Any, store: IntakeStore
) -> None:
    async with await client_for(development_app, store, credit_code(next(_serial))) as client:
        local = await client.put("/v1/webhooks", json={"urls": ["http://127.0.0.1:9/hooks"]})
        assert local.status_code == 200, local.text
        internal = await client.put(
            "/v1/webhooks", json={"urls": ["http://localhost:8086/sign-in"]}
        )
    assert internal.status_code == 422
    assert internal.json()["type"] == "/problems/forbidden-webhook-url"
