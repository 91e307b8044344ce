"""The signed-in user's start page."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.intake.web.deps import WebDeps
from services.intake.web.pages import render


def routes(deps: WebDeps) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        return render(request, "home.html")

    return [Route("/", home)]
