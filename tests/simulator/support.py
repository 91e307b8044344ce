"""Helpers shared by the simulator tests (fixtures live in conftest.py)."""

import asyncio
from dataclasses import dataclass, field

import httpx

from simulator.faults import FaultConfig
from simulator.settings import SimulatorSettings

SEED = 4242
CALLBACK_SECRET = "test-callback-secret"


def simulator_settings(**overrides: object) -> SimulatorSettings:
    values: dict[str, object] = {
        "http_port": 0,
        "smtp_port": 0,
        "seed": SEED,
        "callback_secret": CALLBACK_SECRET,
        "default_faults": FaultConfig(latency_median_ms=0, latency_p99_ms=0),
        "enquiry_delay_days": 0.5,
        "time_scale": 86400.0 / 0.2,  # half a day passes in 0.1 s
        "callback_retry_seconds": 0.1,
        "callback_attempts": 3,
    }
    values.update(overrides)
    return SimulatorSettings.model_validate(values)


@dataclass
class CallbackReceiver:
    """A tiny HTTP server that records enquiry callbacks; it can fail the first few."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    failures_left: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int) -> None:
        """Returns once `count` callbacks arrived; callers bound it with asyncio.timeout."""
        while len(self.received) < count:
            self.arrived.clear()
            await self.arrived.wait()


def api_key(body_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer sim-{body_id}-key"}


async def set_faults(http: httpx.AsyncClient, body_id: str, **config: object) -> None:
    response = await http.put(f"/admin/faults/{body_id}", json=config)
    assert response.status_code == 200, response.text
