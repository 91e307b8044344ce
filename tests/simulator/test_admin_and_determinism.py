import httpx

from simulator.population import find
from tests.simulator.support import SEED, api_key, set_faults


async def status_sequence(http: httpx.AsyncClient, body_id: str, count: int) -> list[int]:
    path = f"/credential-api/{body_id}/v1/credentials/{find(SEED, body_id).credential_id}"
    return [(await http.get(path, headers=api_key(body_id))).status_code for _ in range(count)]


async def test_same_seed_and_requests_give_the_same_fault_decisions(
    http: httpx.AsyncClient,
) -> None:
    await set_faults(http, "coin-body", error_rate=0.4, throttle_rate=0.3)
    first = await status_sequence(http, "coin-body", 30)
    await set_faults(http, "coin-body", error_rate=0.4, throttle_rate=0.3)  # restarts sequence
    assert await status_sequence(http, "coin-body", 30) == first
    assert {200, 429, 500} <= set(first)


async def test_admin_shows_and_clears_overrides(http: httpx.AsyncClient) -> None:
    await set_faults(http, "admin-body", outage=True, latency_median_ms=1, latency_p99_ms=2)
    shown = (await http.get("/admin/faults")).json()
    assert shown["overrides"]["admin-body"] == {
        "outage": True,
        "latency_median_ms": 1.0,
        "latency_p99_ms": 2.0,
    }
    assert shown["bodies"]["admin-body"]["outage"] is True
    assert shown["default"]["outage"] is False
    assert (await http.delete("/admin/faults/admin-body")).status_code == 204
    assert "admin-body" not in (await http.get("/admin/faults")).json()["overrides"]


async def test_admin_rejects_invalid_configs(http: httpx.AsyncClient) -> None:
    for payload in ({"error_rate": 2}, {"colour": "red"}, {"latency_p99_ms": -1}):
        response = await http.put("/admin/faults/admin-body", json=payload)
        assert response.status_code == 422
        assert response.json()["error"] == "invalid_fault_config"
    response = await http.put("/admin/faults/Not.A.Slug", json={"outage": True})
    assert response.status_code == 404


async def test_global_default_applies_to_bodies_without_override(
    http: httpx.AsyncClient,
) -> None:
    response = await http.put(
        "/admin/faults/_default", json={"latency_median_ms": 0, "latency_p99_ms": 0, "outage": True}
    )
    assert response.status_code == 200
    try:
        assert (await status_sequence(http, "fresh-body", 1)) == [503]
    finally:
        assert (await http.delete("/admin/faults/_default")).status_code == 204
    assert (await status_sequence(http, "fresh-body", 1)) == [200]
