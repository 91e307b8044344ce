"""Counting and summarising what a benchmark measured."""

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class Latencies:
    samples: list[float] = field(default_factory=list)
    failures: int = 0
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0

    def add(self, seconds: float, ok: bool = True) -> None:
        self.finished = time.perf_counter()
        if ok:
            self.samples.append(seconds)
        else:
            self.failures += 1

    def percentile(self, p: float) -> float:
        if not self.samples:
            return float("nan")
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def rate(self) -> float:
        elapsed = (self.finished or time.perf_counter()) - self.started
        return len(self.samples) / elapsed if elapsed > 0 else 0.0

    def report(self, what: str, target_rate: float | None = None) -> str:
        verdict = ""
        if target_rate is not None:
            met = "met" if self.rate >= target_rate else "NOT met"
            verdict = f"  [target >= {target_rate:.0f}/s: {met}]"
        mean = statistics.fmean(self.samples) if self.samples else float("nan")
        return (
            f"{what}: {len(self.samples)} ok, {self.failures} failed, {self.rate:.0f}/s; "
            f"latency ms mean {mean * 1000:.1f} p50 {self.percentile(50) * 1000:.1f} "
            f"p99 {self.percentile(99) * 1000:.1f}{verdict}"
        )
