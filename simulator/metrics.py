"""Prometheus metrics of one simulator instance (own registry, so instances never clash)."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

Channel = str  # "credential_api" | "register" | "signed_credential" | "enquiry"


class SimulatorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "simulator_requests",
            "Requests served, by channel, body and outcome.",
            ["channel", "body", "outcome"],
            registry=self.registry,
        )
        self._injected_latency = Histogram(
            "simulator_injected_latency_seconds",
            "Latency the fault policy added before answering.",
            ["channel"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
        )

    def count(self, channel: Channel, body_id: str, outcome: str) -> None:
        self._requests.labels(channel=channel, body=body_id, outcome=outcome).inc()

    def observe_latency(self, channel: Channel, seconds: float) -> None:
        self._injected_latency.labels(channel=channel).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
