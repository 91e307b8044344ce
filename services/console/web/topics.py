"""The topics section: every topic with its rates, partitions, retention and compaction, the
consumer groups on it with per-partition lag, max lag time and catch-up time, the live
pipeline graph (server-side SVG, stalled hops red), and charts of rates from the samples."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.pipeline import Layout, Pipeline, layout
from services.console.usecases.topics import TopicsOverview, TopicsOverviewReader
from services.console.web.deps import Deps
from services.console.web.pages import render
from services.runtime.resilience import DATABASE_UNREACHABLE

CHART_SPANS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "6h": timedelta(hours=6)}
_UNAVAILABLE = (*DATABASE_UNREACHABLE, KafkaError)


@dataclass(frozen=True)
class DrawnEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    source: str
    target: str
    rate: float | None
    lag: int | None
    stalled: bool


def drawn_edges(pipeline: Pipeline, placed: Layout) -> list[DrawnEdge]:
    """Each edge from the side of its source box facing its target to the opposite side."""
    edges: list[DrawnEdge] = []
    half = placed.node_height / 2
    for edge in pipeline.edges:
        source, target = placed.placed[edge.source], placed.placed[edge.target]
        forward = source.x < target.x
        x1 = source.x + placed.node_width if forward else source.x
        x2 = target.x if forward else target.x + placed.node_width
        edges.append(
            DrawnEdge(
                x1,
                source.y + half,
                x2,
                target.y + half,
                source.node.label,
                target.node.label,
                edge.rate,
                edge.lag,
                edge.stalled,
            )
        )
    return edges


def _context(view: TopicsOverview | None, error: str | None = None) -> dict[str, Any]:
    if view is None:
        return {"view": None, "error": error}
    placed = layout(view.pipeline, node_width=290.0)
    return {
        "view": view,
        "error": error,
        "graph": placed,
        "edges": drawn_edges(view.pipeline, placed),
    }


async def _overview(reader: TopicsOverviewReader | None) -> dict[str, Any]:
    if reader is None:
        return _context(None, "not-configured")
    try:
        return _context(await reader.overview())
    except _UNAVAILABLE:
        return _context(None, "database-away")


def _columns(
    series: dict[str, list[tuple[datetime, float]]],
) -> dict[str, Any]:
    """uPlot's columns: one x axis (the union of sample times), one value list per series."""
    times = sorted({at for points in series.values() for at, _ in points})
    index = {at: i for i, at in enumerate(times)}
    out: list[dict[str, Any]] = []
    for label, points in sorted(series.items()):
        values: list[float | None] = [None] * len(times)
        for at, value in points:
            values[index[at]] = round(value, 3)
        out.append({"label": label, "values": values})
    return {"x": [at.timestamp() for at in times], "series": out}


def routes(deps: Deps) -> list[BaseRoute]:
    async def page(request: Request) -> Response:
        context = await _overview(deps.topics)
        context["spans"] = list(CHART_SPANS)
        context["span"] = _span(request)
        return render(request, "topics.html", context)

    async def live(request: Request) -> Response:
        context = await _overview(deps.topics)
        status = 503 if context["error"] else 200
        return render(request, "topics_live.html", context, status_code=status)

    async def series(request: Request) -> Response:
        if deps.topics is None:
            return JSONResponse({"x": [], "series": []}, status_code=503)
        kind = request.query_params.get("kind", "in")
        if kind not in ("in", "out"):
            return JSONResponse({"x": [], "series": []}, status_code=400)
        try:
            history = await deps.topics.rate_history(CHART_SPANS[_span(request)])
        except _UNAVAILABLE:
            return JSONResponse({"x": [], "series": []}, status_code=503)
        chosen = history.topics_in if kind == "in" else history.groups_out
        return JSONResponse(_columns(chosen))

    return [
        Route("/topics", page, methods=["GET"]),
        Route("/topics/live", live, methods=["GET"]),
        Route("/topics/series.json", series, methods=["GET"]),
    ]


def _span(request: Request) -> str:
    chosen = request.query_params.get("span", "15m")
    return chosen if chosen in CHART_SPANS else "15m"
