"""One application online (catalogue typeahead, channel fields, dry run), the list with live
status, and each one's history."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
