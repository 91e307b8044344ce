"""Many applications from one CSV file, with the per-row result as the API gives it."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
