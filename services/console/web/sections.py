"""The console's sections: each module under `services/console/web/` gives its routes."""

from starlette.routing import BaseRoute

from services.console.web import (
    bodies,
    catalogue,
    codes,
    dead_letters,
    employers,
    flow,
    regions,
    topics,
)
from services.console.web.deps import Deps


def section_routes(deps: Deps) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    routes += topics.routes(deps)
    routes += dead_letters.routes(deps)
    routes += codes.routes(deps)
    routes += regions.routes(deps)
    routes += bodies.routes(deps)
    routes += flow.routes(deps)
    routes += catalogue.routes(deps)
    routes += employers.routes(deps)
    return routes
