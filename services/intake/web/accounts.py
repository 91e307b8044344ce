"""Sign-up, e-mail verification, sign-in with the second factor, lockout, password reset,
invitations."""

from starlette.routing import BaseRoute

from services.intake.web.deps import WebDeps


def routes(deps: WebDeps) -> list[BaseRoute]:
    return []
