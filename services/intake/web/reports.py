"""The verification report of an authentic result: a bilingual PDF with a QR code and the signed
statement."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
