"""The flow section: the funnel by stage (a chart, and arrivals per minute over the window),
the rate and latency of each hop, the awarding bodies' answer times against the expected, and
what is stuck with why; every number links to the requests behind it; opening one request
shows its history and, for an operator, the holder's name (audited)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.flow import FUNNEL, FlowStage
from services.console.usecases.flow import FlowView, FlowWatch
from services.console.web.deps import Deps
from services.console.web.i18n import Language, language_of, pick
from services.console.web.pages import operator_of, render

# The windows an operator can choose, in minutes, with their names.
WINDOWS: dict[int, tuple[str, str]] = {
    15: ("15 minutes", "15 分钟"),
    60: ("1 hour", "1 小时"),
    360: ("6 hours", "6 小时"),
    1440: ("24 hours", "24 小时"),
    10080: ("7 days", "7 天"),
}
STAGE_NAMES: dict[str, tuple[str, str]] = {
    FlowStage.ACCEPTED: ("Accepted", "已受理"),
    FlowStage.WAITING_FOR_BODY: ("Waiting for a body", "等待颁证机构"),
    FlowStage.DECIDED: ("Decided", "已裁定"),
    FlowStage.NOTIFIED: ("Notified", "已通知"),
}
LISTED_AT_MOST = 200  # requests shown behind one number, newest first
FUNNEL_WIDTH, FUNNEL_BAR = 560, 30


@dataclass(frozen=True)
class FunnelBar:
    stage: str
    reached: int
    width: float
    y: int


def routes(deps: Deps) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        return await _render_view(request, deps, "flow.html")

    async def live(request: Request) -> Response:
        return await _render_view(request, deps, "flow_live.html")

    async def series(request: Request) -> Response:
        minutes = _window(request, deps)
        if deps.flow is None:
            return JSONResponse({"x": [], "series": []}, status_code=503)
        step = slot_minutes(minutes)
        start, counts = await deps.flow.arrivals(timedelta(minutes=minutes), step * 60)
        return JSONResponse(arrivals_chart(counts, start, minutes, step, language_of(request)))

    async def behind(request: Request) -> Response:
        minutes = _window(request, deps)
        window = timedelta(minutes=minutes)
        current = request.query_params.get("current") == "1"
        hop = request.query_params.get("hop")
        watch = _watch(deps)
        stage: FlowStage | None = None
        through: tuple[FlowStage, FlowStage] | None = None
        if hop is not None:
            through = _hop(hop)
            flows = await watch.through(window, *through)
        else:
            stage = _stage(request.query_params.get("stage", ""))
            flows = await watch.behind(window, stage, current=current)
        context = {
            "stage": stage,
            "hop": through,
            "current": current,
            "flows": flows[:LISTED_AT_MOST],
            "total": len(flows),
            **_common(minutes),
        }
        return render(request, "flow_requests.html", context)

    async def one(request: Request) -> Response:
        request_id = _request_id(request.path_params["request_id"])
        opened = await _watch(deps).open(operator_of(request), request_id)
        if opened is None:
            raise HTTPException(404, f"request {request_id}")
        return render(request, "flow_request.html", {"opened": opened, **_common(None)})

    return [
        Route("/flow", page, methods=["GET"]),
        Route("/flow/live", live, methods=["GET"]),
        Route("/flow/series.json", series, methods=["GET"]),
        Route("/flow/requests", behind, methods=["GET"]),
        Route("/flow/requests/{request_id}", one, methods=["GET"]),
    ]


async def _render_view(request: Request, deps: Deps, template: str) -> Response:
    minutes = _window(request, deps)
    context: dict[str, Any] = {"view": None, "error": None, **_common(minutes)}
    if deps.flow is None:
        context["error"] = ("The flow is not available here.", "此处不提供核验流程。")
        return render(request, template, context, status_code=503)
    view = await deps.flow.view(timedelta(minutes=minutes))  # database away: 503 page
    context.update(view=view, bars=funnel_bars(view))
    return render(request, template, context)


def _common(minutes: int | None) -> dict[str, Any]:
    return {
        "window": minutes,
        "windows": WINDOWS,
        "stage_names": STAGE_NAMES,
        "funnel_size": (FUNNEL_WIDTH, FUNNEL_BAR),
    }


def _watch(deps: Deps) -> FlowWatch:
    if deps.flow is None:
        raise HTTPException(503, "flow not available")
    return deps.flow


def _window(request: Request, deps: Deps) -> int:
    given = request.query_params.get("window")
    if given is None:
        return deps.settings.flow_window_minutes
    if not given.isdigit() or int(given) not in WINDOWS:
        allowed = ", ".join(str(m) for m in WINDOWS)
        raise HTTPException(400, f"window must be one of {allowed} (minutes) / 时间窗口须为其一")
    return int(given)


def _stage(given: str) -> FlowStage:
    try:
        return FlowStage(given)
    except ValueError:
        allowed = ", ".join(FUNNEL)
        raise HTTPException(400, f"stage must be one of {allowed} / 阶段须为其一") from None


def _hop(given: str) -> tuple[FlowStage, FlowStage]:
    source, _, target = given.partition("-")
    return _stage(source), _stage(target)


def _request_id(given: str) -> UUID:
    try:
        return UUID(given)
    except ValueError:
        raise HTTPException(404, "not a request id / 不是申请编号") from None


def funnel_bars(view: FlowView) -> list[FunnelBar]:
    """Horizontal bars, each stage's width in proportion to the requests that reached it."""
    widest = max((step.reached for step in view.report.funnel), default=0) or 1
    return [
        FunnelBar(step.stage, step.reached, FUNNEL_WIDTH * step.reached / widest, i * FUNNEL_BAR)
        for i, step in enumerate(view.report.funnel)
    ]


def slot_minutes(window_minutes: int) -> int:
    """Minutes per point of the arrivals chart: at most 240 points over the window."""
    return max(1, -(-window_minutes // 240))


def arrivals_chart(
    counts: Mapping[tuple[FlowStage, int], int],
    start: datetime,
    minutes: int,
    step: int,
    language: Language = "en",
) -> dict[str, Any]:
    """Arrivals at each stage per slot of `step` minutes since `start`, as the console's chart
    script reads it (a slot with none is a zero, not a gap)."""
    width = step * 60
    first = int(start.timestamp()) // width
    slots = range(first, first + -(-minutes // step) + 1)
    return {
        "x": [slot * width for slot in slots],
        "series": [
            {
                "label": pick(language, *STAGE_NAMES[stage]),
                "values": [counts.get((stage, slot), 0) for slot in slots],
            }
            for stage in FUNNEL
        ],
    }
