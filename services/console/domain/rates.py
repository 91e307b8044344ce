"""Rates and catch-up time from consecutive offset samples: pure arithmetic, no I/O."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise


@dataclass(frozen=True)
class Point:
    """A counter at one sample: the records written to a topic (sum of its log ends) or
    consumed by a group from it (sum of its positions)."""

    at: datetime
    total: int


def rate(points: Sequence[Point]) -> float | None:
    """Records per second between the first and the last point; None without two points apart
    in time, or if the counter went back (a topic deleted and created again)."""
    if len(points) < 2:
        return None
    first, last = points[0], points[-1]
    seconds = (last.at - first.at).total_seconds()
    if seconds <= 0 or last.total < first.total:
        return None
    return (last.total - first.total) / seconds


def rate_series(points: Sequence[Point]) -> list[tuple[datetime, float]]:
    """The rate between each sample and the one before it, at the later sample's time."""
    series: list[tuple[datetime, float]] = []
    for before, after in pairwise(points):
        step = rate([before, after])
        if step is not None:
            series.append((after.at, step))
    return series


def within(points: Sequence[Point], since: datetime) -> list[Point]:
    """The points from `since` on, plus the last one before it, so the window is covered."""
    inside = [p for p in points if p.at >= since]
    earlier = [p for p in points if p.at < since]
    return [earlier[-1], *inside] if earlier else inside


class CatchUpState(StrEnum):
    CAUGHT_UP = "caught_up"
    CATCHING_UP = "catching_up"
    KEEPING_UP = "keeping_up"  # a few seconds' worth waits, consumed as fast as it comes
    NOT_CATCHING_UP = "not_catching_up"  # consuming no faster than records arrive
    UNKNOWN = "unknown"  # not enough samples yet


@dataclass(frozen=True)
class CatchUp:
    state: CatchUpState
    seconds: float | None = None


def catch_up(
    lag: int, in_rate: float | None, out_rate: float | None, keeping_up_seconds: float = 5.0
) -> CatchUp:
    """How long until the group has consumed what is waiting, at the current rates:
    lag / (out-rate − in-rate). A group with no more waiting than it consumes in
    `keeping_up_seconds` is keeping up, whatever the sign of the difference (records arrive
    while it reads)."""
    if lag <= 0:
        return CatchUp(CatchUpState.CAUGHT_UP, 0.0)
    if in_rate is None or out_rate is None:
        return CatchUp(CatchUpState.UNKNOWN)
    if out_rate > 0 and lag <= out_rate * keeping_up_seconds:
        return CatchUp(CatchUpState.KEEPING_UP)
    gaining = out_rate - in_rate
    if gaining <= 0:
        return CatchUp(CatchUpState.NOT_CATCHING_UP)
    return CatchUp(CatchUpState.CATCHING_UP, lag / gaining)
