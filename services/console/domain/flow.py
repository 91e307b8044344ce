"""The flow of verifications, from the console's projection of the platform's events: the
funnel by stage over a window, the rate and latency of each hop, the awarding bodies' answer
times against what was expected of them, and what is stuck, with why. Pure: no I/O."""

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from uuid import UUID


class FlowStage(StrEnum):
    ACCEPTED = "accepted"
    VERIFYING = "verifying"
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
    verifying_at: datetime | None = None
    waiting_at: datetime | None = None
    parked_at: datetime | None = None
    decided_at: datetime | None = None
    notified_at: datetime | None = None
    stage: str | None = None  # the verifier's latest stage
    stage_note: Note | None = None
    expected_completion_at: datetime | None = None
    promised_seconds: float | None = None  # the verifier's first estimate
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
        if self.verifying_at is not None or self.stage is not None:
            return FlowStage.VERIFYING
        return FlowStage.ACCEPTED

    def reached(self) -> list[tuple[FlowStage, datetime]]:
        """The stages it went through, with when, in the funnel's order."""
        times = {
            FlowStage.ACCEPTED: self.accepted_at,
            FlowStage.VERIFYING: self.verifying_at,
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


def percentiles(values: Sequence[float]) -> Percentiles | None:
    """p50, p90 and p99 (inclusive method: within the observed range); None without values."""
    if not values:
        return None
    if len(values) == 1:
        return Percentiles(values[0], values[0], values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return Percentiles(cuts[49], cuts[89], cuts[98])


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
    latency: Percentiles | None  # seconds

    @property
    def key(self) -> str:
        return f"{self.source}-{self.target}"


@dataclass(frozen=True)
class Contact:
    """One awarding body's answer time for one request."""

    body_id: str
    channel: str
    seconds: float
    decided_at: datetime


@dataclass(frozen=True)
class BodyTurnaround:
    body_id: str
    channel: str
    answers: int
    p50: float
    p90: float
    expected_seconds: float | None
    expected_from: str | None  # "verifier" (its promise) or "progress" (its estimates)

    @property
    def slower_than_expected(self) -> bool:
        return self.expected_seconds is not None and self.p90 > self.expected_seconds


class StuckReason(StrEnum):
    NOT_TAKEN_ON = "not_taken_on"  # the verifier has not started it
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
    # A request the verifier has not taken on (no progress yet) within this is stuck.
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


def funnel(flows: Sequence[RequestFlow]) -> list[FunnelStep]:
    reached: dict[FlowStage, int] = dict.fromkeys(FUNNEL, 0)
    current: dict[FlowStage, int] = dict.fromkeys(FUNNEL, 0)
    for flow in flows:
        for stage, _ in flow.reached():
            reached[stage] += 1
        current[flow.current] += 1
    accepted = reached[FlowStage.ACCEPTED]
    return [
        FunnelStep(stage, reached[stage], current[stage], _share(reached[stage], accepted))
        for stage in FUNNEL
    ]


def hops(flows: Iterable[RequestFlow], window_start: datetime, now: datetime) -> list[Hop]:
    """Each hop between consecutive stages a request went through, completed in the window."""
    durations: dict[tuple[FlowStage, FlowStage], list[float]] = defaultdict(list)
    for flow in flows:
        reached = flow.reached()
        for (source, left), (target, arrived) in pairwise(reached):
            if window_start <= arrived <= now:
                durations[(source, target)].append(max((arrived - left).total_seconds(), 0.0))
    minutes = max((now - window_start).total_seconds() / 60, 1e-9)
    return [
        Hop(source, target, len(values), len(values) / minutes, percentiles(values))
        for (source, target), values in sorted(
            durations.items(), key=lambda item: (FUNNEL.index(item[0][0]), FUNNEL.index(item[0][1]))
        )
    ]


def body_turnaround(
    contacts: Iterable[Contact],
    flows: Iterable[RequestFlow],
    promised: Mapping[str, float],
) -> list[BodyTurnaround]:
    """Observed p50/p90 per body against the expected: the verifier's promise for the body
    when known, else the median of its estimates for requests asking that body alone."""
    seconds: dict[tuple[str, str], list[float]] = defaultdict(list)
    for contact in contacts:
        seconds[(contact.body_id, contact.channel)].append(contact.seconds)
    estimates: dict[str, list[float]] = defaultdict(list)
    for flow in flows:
        if len(flow.body_ids) == 1 and flow.promised_seconds is not None:
            estimates[flow.body_ids[0]].append(flow.promised_seconds)
    report = []
    for (body_id, channel), values in sorted(seconds.items()):
        observed = percentiles(values)
        assert observed is not None  # every key has a value
        expected, source = _expected(body_id, promised, estimates)
        report.append(
            BodyTurnaround(
                body_id, channel, len(values), observed.p50, observed.p90, expected, source
            )
        )
    return report


def _expected(
    body_id: str, promised: Mapping[str, float], estimates: Mapping[str, list[float]]
) -> tuple[float | None, str | None]:
    if body_id in promised:
        return promised[body_id], "verifier"
    if estimates.get(body_id):
        return statistics.median(estimates[body_id]), "progress"
    return None, None


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
    flows: Sequence[RequestFlow],
    contacts: Sequence[Contact],
    unfinished: Sequence[RequestFlow],
    *,
    window_start: datetime,
    now: datetime,
    promised: Mapping[str, float] | None = None,
    rules: StuckRules = StuckRules(),
) -> FlowReport:
    """The flow over the window: `flows` accepted in it, `contacts` of requests decided in
    it, and every `unfinished` request (of any age) for what is stuck."""
    in_window = [f for f in flows if f.accepted_at is not None and f.accepted_at >= window_start]
    return FlowReport(
        window_start=window_start,
        now=now,
        requests=len(in_window),
        funnel=funnel(in_window),
        hops=hops(in_window, window_start, now),
        bodies=body_turnaround(
            [c for c in contacts if c.decided_at >= window_start], in_window, promised or {}
        ),
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
