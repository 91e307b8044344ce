"""Liveness never asks a dependency; readiness asks them all and the loops' states."""

import httpx

from services.runtime.observability import HealthCheck, ops_app
from services.runtime.resilience import Loops, LoopState


async def database_down() -> bool:
    raise ConnectionRefusedError(111, "Connect call failed")


async def answers() -> bool:
    return True


def client(loops: Loops, database_up: bool = True) -> httpx.AsyncClient:
    checks: dict[str, HealthCheck] = {
        "database": answers if database_up else database_down,
        "kafka": answers,
    }
    app = ops_app(checks, loops)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def test_a_dependency_down_makes_the_service_unready_but_alive() -> None:
    loops = Loops()
    loops.mark("outbox relay", LoopState.RUNNING)
    async with client(loops, database_up=False) as http:
        ready, live = await http.get("/readyz"), await http.get("/livez")
        assert (await http.get("/healthz")).json() == ready.json()
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": False, "kafka": True}
    assert live.status_code == 200
    assert live.json() == {"status": "ok", "loops": {"outbox relay": "running"}}


async def test_a_loop_waiting_out_an_outage_makes_the_service_unready() -> None:
    loops = Loops()
    loops.mark("consumer", LoopState.RUNNING)
    loops.mark("outbox relay", LoopState.RETRYING)
    async with client(loops) as http:
        ready, live = await http.get("/readyz"), await http.get("/livez")
    assert ready.status_code == 503
    assert ready.json()["loops"] == {"consumer": "running", "outbox relay": "retrying"}
    assert live.status_code == 200


async def test_a_stopped_loop_is_a_dead_service() -> None:
    loops = Loops()
    loops.mark("consumer", LoopState.STOPPED)
    async with client(loops) as http:
        live = await http.get("/livez")
    assert live.status_code == 503
    assert live.json()["status"] == "stopped"


async def test_all_well_is_ready() -> None:
    loops = Loops()
    loops.mark("consumer", LoopState.RUNNING)
    async with client(loops) as http:
        assert (await http.get("/readyz")).status_code == 200
