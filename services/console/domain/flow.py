"""The flow of verifications, from the console's projection of the platform's events: the
funnel by stage over a window, the rate and latency of each hop, the awarding bodies' answer
times against what was expected of them, and what is stuck, with why. Pure: no I/O."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from uuid import UUID


class FlowStage(StrEnum):
    """What the events tell of a request. The verifier says nothing when it takes a request on
    (only when it waits on a body, or decides), so a request is "accepted" until then."""

    ACCEPTED = "accepted"
    WAITING_FOR_BODY = "waiting_for_body"
    DECIDED = "decided"
    NOTIFIED = "notified"


FUNNEL: tuple[FlowStage, ...] = tuple(FlowStage)
# The verifier's stages in which a request waits on an awarding body.
_WAITING_STAGES = frozenset({"waiting_for_body", "parked"})


@dataclass(frozen=True)
class Note:
    zh: str
    en: str


@dataclass(frozen=True)
class RequestFlow:
    """One request as the console has seen it so far; any timestamp may still be missing."""

    request_id: UUID
    qualification_id: str | None = None
    region: str | None = None
    body_ids: tuple[str, ...] = ()
    accepted_at: datetime | None = None
    waiting_at: datetime | None = None
    parked_at: datetime | None = None
    decided_at: datetime | None = None
    notified_at: datetime | None = None
    stage: str | None = None  # the verifier's latest stage
    stage_note: Note | None = None
    expected_completion_at: datetime | None = None
    verdict: str | None = None

    @property
    def waited_at(self) -> datetime | None:
        """When it first waited on a body: slow or down, or an enquiry sent."""
        return _earliest(self.waiting_at, self.parked_at)

    @property
    def current(self) -> FlowStage:
        if self.notified_at is not None:
            return FlowStage.NOTIFIED
        if self.decided_at is not None:
            return FlowStage.DECIDED
        if self.stage in _WAITING_STAGES:
            return FlowStage.WAITING_FOR_BODY
        return FlowStage.ACCEPTED

    def reached(self) -> list[tuple[FlowStage, datetime]]:
        """The stages it went through, with when, in the funnel's order."""
        times = {
            FlowStage.ACCEPTED: self.accepted_at,
            FlowStage.WAITING_FOR_BODY: self.waited_at,
            FlowStage.DECIDED: self.decided_at,
            FlowStage.NOTIFIED: self.notified_at,
        }
        return [(stage, at) for stage in FUNNEL if (at := times[stage]) is not None]

    @property
    def since(self) -> datetime | None:
        """When it entered its current stage (the latest it reached)."""
        reached = self.reached()
        return reached[-1][1] if reached else None


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p90: float
    p99: float


@dataclass(frozen=True)
class FunnelStep:
    stage: FlowStage
    reached: int  # requests of the window that went through this stage
    current: int  # of which are in it now
    share: float | None  # reached / accepted


@dataclass(frozen=True)
class Hop:
    source: FlowStage
    target: FlowStage
    count: int  # hops completed within the window
    per_minute: float
    latency: Percentiles  # seconds

    @property
    def key(self) -> str:
        return f"{self.source}-{self.target}"


@dataclass(frozen=True)
class FunnelCounts:
    """Per stage, the window's requests that reached it and those in it now (the store counts
    them by the rule of `RequestFlow.current`)."""

    reached: Mapping[FlowStage, int]
    current: Mapping[FlowStage, int]


@dataclass(frozen=True)
class HopFigures:
    """One hop's completions in the window and their latency, as the store measured them."""

    source: FlowStage
    target: FlowStage
    count: int
    latency: Percentiles


@dataclass(frozen=True)
class BodyFigures:
    """One awarding body's answer times in the window, as the store measured them."""

    body_id: str
    channel: str
    answers: int
    p50: float
    p90: float


@dataclass(frozen=True)
class BodyTurnaround:
    body_id: str
    channel: str
    answers: int
    p50: float
    p90: float
    expected_seconds: float | None  # the verifier's promise for the body, when it told it

    @property
    def slower_than_expected(self) -> bool:
        return self.expected_seconds is not None and self.p90 > self.expected_seconds


class StuckReason(StrEnum):
    NOT_TAKEN_ON = "not_taken_on"  # nothing from the verifier: no verdict, no wait on a body
    OVERDUE = "overdue"  # past the verifier's expected completion
    NOT_NOTIFIED = "not_notified"  # decided, outcome not published


@dataclass(frozen=True)
class StuckRequest:
    flow: RequestFlow
    reason: StuckReason
    deadline: datetime
    overdue_seconds: float

    @property
    def waited_on(self) -> tuple[str, ...]:
        """The bodies it waits on, when it waits on a body."""
        return self.flow.body_ids if self.flow.current is FlowStage.WAITING_FOR_BODY else ()


@dataclass(frozen=True)
class StuckRules:
    # A request the verifier has said nothing of (no verdict, no wait) within this is stuck.
    pickup_seconds: float = 120.0
    # A decided request whose outcome is not published within this is stuck.
    notify_seconds: float = 60.0


@dataclass(frozen=True)
class FlowReport:
    window_start: datetime
    now: datetime
    requests: int
    funnel: list[FunnelStep]
    hops: list[Hop]
    bodies: list[BodyTurnaround]
    stuck: list[StuckRequest] = field(default_factory=list)


def funnel(counts: FunnelCounts) -> list[FunnelStep]:
    accepted = counts.reached.get(FlowStage.ACCEPTED, 0)
    return [
        FunnelStep(
            stage,
            counts.reached.get(stage, 0),
            counts.current.get(stage, 0),
            _share(counts.reached.get(stage, 0), accepted),
        )
        for stage in FUNNEL
    ]


def hops(figures: Iterable[HopFigures], window_start: datetime, now: datetime) -> list[Hop]:
    """The hops in the funnel's order, each with its rate over the window."""
    minutes = max((now - window_start).total_seconds() / 60, 1e-9)
    ordered = sorted(figures, key=lambda f: (FUNNEL.index(f.source), FUNNEL.index(f.target)))
    return [Hop(f.source, f.target, f.count, f.count / minutes, f.latency) for f in ordered]


def body_turnaround(
    figures: Iterable[BodyFigures], promised: Mapping[str, float]
) -> list[BodyTurnaround]:
    """Observed p50/p90 per body against the verifier's promise for the body, when known."""
    return [
        BodyTurnaround(f.body_id, f.channel, f.answers, f.p50, f.p90, promised.get(f.body_id))
        for f in sorted(figures, key=lambda f: (f.body_id, f.channel))
    ]


def stuck(
    unfinished: Iterable[RequestFlow], now: datetime, rules: StuckRules = StuckRules()
) -> list[StuckRequest]:
    """Requests not finished and past their expected time, the most overdue first."""
    found = []
    for flow in unfinished:
        verdict = _stuck(flow, now, rules)
        if verdict is not None:
            found.append(verdict)
    return sorted(found, key=lambda s: s.overdue_seconds, reverse=True)


def _stuck(flow: RequestFlow, now: datetime, rules: StuckRules) -> StuckRequest | None:
    if flow.notified_at is not None:
        return None
    if flow.decided_at is not None:
        reason, deadline = (
            StuckReason.NOT_NOTIFIED,
            flow.decided_at + timedelta(seconds=rules.notify_seconds),
        )
    elif flow.expected_completion_at is not None:
        reason, deadline = StuckReason.OVERDUE, flow.expected_completion_at
    elif flow.accepted_at is not None and flow.current is FlowStage.ACCEPTED:
        reason, deadline = (
            StuckReason.NOT_TAKEN_ON,
            flow.accepted_at + timedelta(seconds=rules.pickup_seconds),
        )
    else:
        return None  # seen only in part, with nothing to measure it against
    if now <= deadline:
        return None
    return StuckRequest(flow, reason, deadline, (now - deadline).total_seconds())


def summarize(
    counts: FunnelCounts,
    hop_figures: Iterable[HopFigures],
    body_figures: Iterable[BodyFigures],
    unfinished: Iterable[RequestFlow],
    *,
    window_start: datetime,
    now: datetime,
    promised: Mapping[str, float] | None = None,
    rules: StuckRules = StuckRules(),
) -> FlowReport:
    """The flow over the window from the store's figures, and what is stuck among every
    `unfinished` request (of any age)."""
    return FlowReport(
        window_start=window_start,
        now=now,
        requests=counts.reached.get(FlowStage.ACCEPTED, 0),
        funnel=funnel(counts),
        hops=hops(hop_figures, window_start, now),
        bodies=body_turnaround(body_figures, promised or {}),
        stuck=stuck(unfinished, now, rules),
    )


def in_stage(flows: Iterable[RequestFlow], stage: FlowStage, *, current: bool) -> list[RequestFlow]:
    """The requests behind a funnel number: those that reached `stage`, or are in it now."""
    if current:
        return [f for f in flows if f.current is stage]
    return [f for f in flows if any(s is stage for s, _ in f.reached())]


def through_hop(
    flows: Iterable[RequestFlow], source: FlowStage, target: FlowStage
) -> list[RequestFlow]:
    """The requests behind a hop's number: those that went from `source` straight on to
    `target`."""
    return [
        f
        for f in flows
        if any((a, b) == (source, target) for (a, _), (b, _) in pairwise(f.reached()))
    ]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _earliest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None
