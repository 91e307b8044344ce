"""Every section's routes, in one list (each section is a module of this package)."""

from starlette.routing import BaseRoute

from services.intake.web import (
    accounts,
    api_keys,
    applications,
    batches,
    home,
    reports,
    users,
    webhooks,
)
from services.intake.web.deps import WebDeps


def sections(deps: WebDeps) -> list[BaseRoute]:
    return [
        *home.routes(deps),
        *accounts.routes(deps),
        *users.routes(deps),
        *api_keys.routes(deps),
        *applications.routes(deps),
        *batches.routes(deps),
        *webhooks.routes(deps),
        *reports.routes(deps),
    ]
