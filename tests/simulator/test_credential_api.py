import httpx
import orjson
import pytest

from simulator.population import find, unknown_certificate_number
from simulator.server import RunningSimulator
from tests.simulator.support import SEED, api_key, set_faults

FIELDS = {"credential_id", "holder_name", "status", "issued_on", "expires_on", "credential_name"}


def credential_path(body_id: str, credential_id: str) -> str:
    return f"/credential-api/{body_id}/v1/credentials/{credential_id}"


async def test_authentic_credential(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "aws", "authentic")
    response = await http.get(credential_path("aws", cert.credential_id), headers=api_key("aws"))
    assert response.status_code == 200
    assert response.json() == {
        "credential_id": cert.certificate_number,
        "holder_name": cert.holder_name,
        "status": "active",
        "issued_on": cert.issued_on.isoformat(),
        "expires_on": cert.expires_on.isoformat() if cert.expires_on else None,
        "credential_name": cert.credential_name,
    }


@pytest.mark.parametrize(("kind", "status"), [("revoked", "revoked"), ("expired", "expired")])
async def test_revoked_and_expired_credentials(
    http: httpx.AsyncClient, kind: str, status: str
) -> None:
    cert = find(SEED, "microsoft", kind)  # type: ignore[arg-type]
    response = await http.get(
        credential_path("microsoft", cert.credential_id), headers=api_key("microsoft")
    )
    assert response.status_code == 200
    assert response.json()["status"] == status


async def test_unknown_credential_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get(
        credential_path("aws", unknown_certificate_number("aws")), headers=api_key("aws")
    )
    assert (response.status_code, response.json()) == (404, {"error": "not_found"})


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sim-pmi-key"}, {"Authorization": "sim-aws-key"}],
)
async def test_missing_or_wrong_key_is_401(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    cert = find(SEED, "aws", "authentic")
    response = await http.get(credential_path("aws", cert.credential_id), headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})


async def test_random_throttling_is_429_with_retry_after(http: httpx.AsyncClient) -> None:
    await set_faults(http, "throttled-body", throttle_rate=1.0, retry_after_seconds=7)
    cert = find(SEED, "throttled-body", "authentic")
    response = await http.get(
        credential_path("throttled-body", cert.credential_id), headers=api_key("throttled-body")
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"error": "rate_limited"}


async def test_rate_limit_per_body(http: httpx.AsyncClient) -> None:
    await set_faults(http, "limited-body", rate_limit_per_second=0.2, rate_limit_burst=3)
    cert = find(SEED, "limited-body", "authentic")
    path = credential_path("limited-body", cert.credential_id)
    statuses = [
        (await http.get(path, headers=api_key("limited-body"))).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    throttled = await http.get(path, headers=api_key("limited-body"))
    assert 1 <= int(throttled.headers["Retry-After"]) <= 5
    other = await http.get(
        credential_path("aws", find(SEED, "aws").credential_id), headers=api_key("aws")
    )
    assert other.status_code == 200


async def test_outage_is_503(http: httpx.AsyncClient) -> None:
    await set_faults(http, "down-body", outage=True)
    response = await http.get(credential_path("down-body", "ANY-1"), headers=api_key("down-body"))
    assert (response.status_code, response.json()) == (503, {"error": "unavailable"})
    (await http.delete("/admin/faults/down-body")).raise_for_status()
    cert = find(SEED, "down-body", "authentic")
    recovered = await http.get(
        credential_path("down-body", cert.credential_id), headers=api_key("down-body")
    )
    assert recovered.status_code == 200


async def test_error_rate_gives_500(http: httpx.AsyncClient) -> None:
    await set_faults(http, "flaky-body", error_rate=1.0)
    response = await http.get(credential_path("flaky-body", "X-1"), headers=api_key("flaky-body"))
    assert (response.status_code, response.json()) == (500, {"error": "internal_error"})


async def test_malformed_answers_are_truncated_or_incomplete(http: httpx.AsyncClient) -> None:
    await set_faults(http, "garbled-body", malformed_rate=1.0)
    cert = find(SEED, "garbled-body", "authentic")
    path = credential_path("garbled-body", cert.credential_id)
    styles = set()
    for _ in range(12):
        response = await http.get(path, headers=api_key("garbled-body"))
        assert response.status_code == 200
        try:
            document = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            styles.add("truncated")
        else:
            assert not set(document) >= FIELDS
            styles.add("missing_fields")
    assert styles == {"truncated", "missing_fields"}


async def test_listing_filters_by_holder_name_and_paginates(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "pmi", "authentic")
    response = await http.get(
        "/credential-api/pmi/v1/credentials",
        params={"holder_name": cert.holder_name.upper()},
        headers=api_key("pmi"),
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert cert.certificate_number in {item["credential_id"] for item in items}
    assert {item["holder_name"] for item in items} == {cert.holder_name}

    seen: list[str] = []
    token: str | None = None
    while True:
        params = {"page_size": "60", **({"page_token": token} if token else {})}
        page = (
            await http.get(
                "/credential-api/pmi/v1/credentials", params=params, headers=api_key("pmi")
            )
        ).json()
        seen.extend(item["credential_id"] for item in page["items"])
        token = page["next_page_token"]
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 200


async def test_listing_rejects_a_forged_page_token(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/credential-api/pmi/v1/credentials", params={"page_token": "!!"}, headers=api_key("pmi")
    )
    assert (response.status_code, response.json()) == (400, {"error": "invalid_page_token"})


async def test_listing_needs_the_key(http: httpx.AsyncClient) -> None:
    response = await http.get("/credential-api/pmi/v1/credentials")
    assert response.status_code == 401


async def test_a_body_id_that_is_not_a_slug_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get(credential_path("AWS", "X"), headers=api_key("AWS"))
    assert (response.status_code, response.json()) == (404, {"error": "unknown_body"})


async def test_metrics_count_requests_by_channel_body_and_outcome(
    http: httpx.AsyncClient, simulator: RunningSimulator
) -> None:
    await http.get(credential_path("metered-body", "X-1"))
    text = (await http.get("/metrics")).text
    assert (
        'simulator_requests_total{body="metered-body",channel="credential_api",'
        'outcome="unauthorized"} 1.0' in text
    )
    assert (await http.get("/healthz")).json() == {"status": "ok"}
