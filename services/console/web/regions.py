"""The Regions section: Beijing, Tianjin and Hebei, each with its consumer groups' position and
lag and its StreamOutcomes subscribers; the figures refresh in place."""

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.regions import REGION_NAMES
from services.console.store.samples import SampleStore
from services.console.usecases.regions import RegionsReader, lag_history
from services.console.web.deps import Deps
from services.console.web.i18n import language_of, pick
from services.console.web.pages import render
from services.runtime.resilience import DATABASE_UNREACHABLE

CHART_SPAN = timedelta(hours=1)


def routes(deps: Deps) -> list[BaseRoute]:
    reader = RegionsReader(deps.topics, deps.registry)

    async def show(request: Request, template: str) -> Response:
        view = await reader.overview()
        context = {"view": view, "names": REGION_NAMES}
        return render(request, template, context)

    async def page(request: Request) -> Response:
        return await show(request, "regions.html")

    async def live(request: Request) -> Response:
        return await show(request, "regions_live.html")

    async def series(request: Request) -> Response:
        """Each region's consumer lag over the last hour, as uPlot's columns."""
        if deps.topics is None:  # nobody samples the broker
            return JSONResponse({"x": [], "series": []}, status_code=503)
        try:
            history = await lag_history(SampleStore(deps.pool), datetime.now(UTC) - CHART_SPAN)
        except DATABASE_UNREACHABLE:
            return JSONResponse({"x": [], "series": []}, status_code=503)
        language = language_of(request)
        return JSONResponse(
            {
                "x": [at.timestamp() for at in history.times],
                "series": [
                    {"label": pick(language, *REGION_NAMES[region]), "values": list(values)}
                    for region, values in history.lag.items()
                ],
            }
        )

    return [
        Route("/regions", page),
        Route("/regions/live", live),
        Route("/regions/series.json", series),
    ]
