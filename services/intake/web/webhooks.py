"""Webhook and e-mail notification settings, the delivery log and replay (admins only)."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
