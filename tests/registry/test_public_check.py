"""The public check over HTTP: valid / revoked / unknown with nothing more than it should say,
rate-limited per client, every lookup in the audit log."""

import math
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from qualverify.registry.v1 import registry_pb2
from services.reference.catalogue.loader import load_edition
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.domain.codes import CHECK_SYMBOLS, generate_code
from tests.infra import Infra
from tests.registry.support import issue_request, registry_settings

pytestmark = pytest.mark.integration

LIMIT = 8  # checks per minute per client address in this module
CATALOGUE = load_edition()
QUALIFICATION = CATALOGUE.qualifications[0]


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database, public_rate_limit=f"{LIMIT}/minute")
    async with running_registry(settings) as running:
        yield running


@pytest.fixture
async def http(registry: RunningRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=registry.public_url) as client:
        yield client


async def issue(stub: Any) -> Any:
    return await stub.seed(
        issue_request(
            qualification_id=QUALIFICATION.id,
            body_ids=list(QUALIFICATION.body_ids),
            holder_name="Kenji Nguyen",
        )
    )


async def audit_rows(database: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database)
    try:
        return await conn.fetch("SELECT * FROM registry.audit_log ORDER BY id")
    finally:
        await conn.close()


async def test_public_checks(stub: Any, http: httpx.AsyncClient, module_database: str) -> None:
    """One test, so the per-address budget of LIMIT checks is spent in a known order."""
    issued = await issue(stub)

    valid = await http.get(f"/v1/codes/{issued.code}")
    assert valid.status_code == 200
    body = valid.json()
    assert body == {
        "code": issued.code,
        "status": "valid",
        "qualification": {"id": QUALIFICATION.id, "name": QUALIFICATION.name},
        "awarding_bodies": [
            {"id": b.id, "name": b.name} for b in CATALOGUE.bodies_of(QUALIFICATION.id)
        ],
        "verified_on": "2025-06-01",
        "holder_name_masked": "K**** N*****",
    }
    assert "Kenji" not in valid.text

    wrong_check = next(s for s in CHECK_SYMBOLS if s != issued.code[-1])
    typo = await http.get(f"/v1/codes/{issued.code[:-1]}{wrong_check}")
    assert typo.status_code == 400
    assert typo.headers["content-type"] == "application/problem+json"
    assert typo.json()["type"] == "/problems/check-character-mismatch"
    assert "校验字符" in typo.json()["message"]["zh"]

    unknown = await http.get(f"/v1/codes/{generate_code()}")
    assert unknown.status_code == 404
    assert unknown.json()["status"] == "unknown"

    await stub.RevokeCode(
        registry_pb2.RevokeCodeRequest(code=issued.code, reason="certificate revoked by its body")
    )
    revoked = await http.get(f"/v1/codes/{issued.code.replace('-', '').lower()}")
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revocation_reason"] == "certificate revoked by its body"

    # 4 checks so far; the rest of the budget, then refusals.
    statuses = [(await http.get(f"/v1/codes/{issued.code}")).status_code for _ in range(LIMIT)]
    assert statuses == [200] * (LIMIT - 4) + [429] * 4
    limited = await http.get(f"/v1/codes/{issued.code}")
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    # A sliding-window counter: a full minute's checks still weigh in the next minute until
    # 1/LIMIT of it has passed, so the wait may exceed the minute by that much.
    assert 1 <= int(limited.headers["retry-after"]) <= 60 + math.ceil(60 / LIMIT)
    assert limited.json()["type"] == "/problems/rate-limited"

    audited = [row for row in await audit_rows(module_database) if row["action"] == "PublicCheck"]
    assert len(audited) == 3 + (LIMIT - 4)  # every lookup that reached the data, nothing else
    assert {row["peer"] for row in audited} == {"127.0.0.1"}
    assert audited[0]["code"] == issued.code and audited[0]["outcome"] == "found"
    assert audited[1]["outcome"] == "unknown"
    assert all(row["at"] is not None for row in audited)


async def test_grpc_reads_of_personal_data_are_audited(stub: Any, module_database: str) -> None:
    issued = await issue(stub)
    await stub.GetVerification(registry_pb2.GetVerificationRequest(code=issued.code))
    holder_ref = issued.verification.holder_ref
    listed = await stub.ListHolderVerifications(
        registry_pb2.ListHolderVerificationsRequest(holder_ref=holder_ref)
    )
    assert [v.code for v in listed.verifications] == [issued.code]
    rows = await audit_rows(module_database)
    assert any(r["action"] == "GetVerification" and r["code"] == issued.code for r in rows)
    assert any(
        r["action"] == "ListHolderVerifications" and r["holder_ref"] == holder_ref for r in rows
    )
    assert all(r["actor"] and r["peer"] for r in rows)


async def test_forwarded_for_from_an_untrusted_peer_changes_nothing(
    http: httpx.AsyncClient, module_database: str
) -> None:
    """No proxy is trusted by default: a new X-Forwarded-For per request is no new budget."""
    path = f"/v1/codes/{generate_code()}"
    statuses = [
        (await http.get(path, headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
        for i in range(LIMIT + 1)
    ]
    assert statuses[-1] == 429, statuses
    audited = [row for row in await audit_rows(module_database) if row["action"] == "PublicCheck"]
    assert {row["peer"] for row in audited} == {"127.0.0.1"}


async def test_a_trusted_proxy_forwards_its_clients_address(
    infra: Infra, fresh_database: str
) -> None:
    settings = registry_settings(
        infra, fresh_database, public_rate_limit="2/minute", trusted_proxies="127.0.0.0/8, ::1"
    )
    assert settings.trusted_proxies == ["127.0.0.0/8", "::1"]
    path = f"/v1/codes/{generate_code()}"
    async with (
        running_registry(settings) as running,
        httpx.AsyncClient(base_url=running.public_url) as http,
    ):

        async def status_from(client: str) -> int:
            forwarded = {"X-Forwarded-For": f"{client}, 127.0.0.1"}
            return (await http.get(path, headers=forwarded)).status_code

        assert [await status_from("198.51.100.7") for _ in range(3)] == [404, 404, 429]
        assert await status_from("198.51.100.8") == 404
    audited = [row for row in await audit_rows(fresh_database) if row["action"] == "PublicCheck"]
    assert {row["peer"] for row in audited} == {"198.51.100.7", "198.51.100.8"}


def test_trusted_proxies_must_be_addresses_or_networks(infra: Infra) -> None:
    with pytest.raises(ValueError, match="proxy-host"):
        registry_settings(infra, "postgresql://unused", trusted_proxies="10.0.0.0/8,proxy-host")
