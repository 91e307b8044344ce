"""What every channel shares at run time: settings, the fault book and the metrics."""

import asyncio
import logging
from dataclasses import dataclass

from simulator.faults import FaultBook, FaultDecision
from simulator.metrics import Channel, SimulatorMetrics
from simulator.population import SimulatedCertificate, lookup
from simulator.settings import SimulatorSettings

_log = logging.getLogger("simulator.requests")


@dataclass
class SimulatorContext:
    settings: SimulatorSettings
    faults: FaultBook
    metrics: SimulatorMetrics

    async def admit(self, channel: Channel, body_id: str) -> FaultDecision:
        """Draws the body's next fault decision and waits out its injected latency."""
        decision = self.faults.next_decision(body_id)
        self.metrics.observe_latency(channel, decision.latency_seconds)
        if decision.latency_seconds > 0:
            await asyncio.sleep(decision.latency_seconds)
        return decision

    def record(self, channel: Channel, body_id: str, outcome: str) -> None:
        self.metrics.count(channel, body_id, outcome)
        _log.info("request", extra={"channel": channel, "body": body_id, "outcome": outcome})

    def certificate(self, body_id: str, certificate_number: str) -> SimulatedCertificate | None:
        return lookup(
            self.settings.seed, body_id, certificate_number, self.settings.population_size
        )
