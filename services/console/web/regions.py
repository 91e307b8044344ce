"""The Regions section: Beijing, Tianjin and Hebei, each with its consumer groups' position and
lag and its StreamOutcomes subscribers; the figures refresh in place."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.console.domain.regions import REGION_NAMES
from services.console.usecases.regions import RegionsReader
from services.console.web.deps import Deps
from services.console.web.pages import render


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

    return [Route("/regions", page), Route("/regions/live", live)]
