"""API keys: created, named, listed and revoked (admins only)."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
