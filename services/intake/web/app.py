"""The employer web application: sessions, the signed-in user, CSRF, the reader's language,
security headers, and the sections' routes."""

from collections.abc import Sequence
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from services.intake.domain.accounts import EmployerStatus, SessionStage
from services.intake.web.deps import WebDeps
from services.intake.web.pages import LANGUAGE_COOKIE, PAGES, STATIC_DIR
from services.runtime.observability import database_away, database_away_handlers
from services.runtime.resilience import DATABASE_UNREACHABLE
from services.runtime.web import (
    language_switch,
    platform_static,
    protected_pages,
    signed_cookie_sessions,
    to_sign_in,
)

SESSION_COOKIE = "qv_employer_session"
CSRF_COOKIE = "qv_employer_csrf"
# asgi-csrf 0.11 cannot read multipart bodies with python-multipart >= 0.0.26 (simonw/asgi-csrf#38,
# fix pending): the pages taking these uploads compare asgi-csrf's token with the form's themselves
# (services/intake/web/batches.py). Remove once asgi-csrf parses multipart again.
MULTIPART_FORMS = frozenset({"/upload"})
# Open to anyone: signing up and in, the links of account e-mails, assets.
PUBLIC_PREFIXES = (
    "/sign-in",
    "/sign-up",
    "/verify-email",
    "/reset-password",
    "/invitation",
    "/static/",
    "/lang",
)
# With the password given but not yet the second factor, only these.
SECOND_FACTOR_PREFIXES = ("/second-factor", "/sign-out")
# An employer not yet approved (or refused) sees only where it stands.
NOT_ACTIVE_PREFIXES = ("/awaiting-approval", "/sign-out")


class SignedInOnly:
    """Lets a request through only with a live session, setting `request.state.user`; pages
    redirect to sign-in, htmx fragments are told to (HX-Redirect), others get 401."""

    def __init__(self, app: ASGIApp, deps: WebDeps) -> None:
        self._app = app
        self._deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        token = request.session.get("token")
        try:
            found = await self._deps.accounts.session_user(token) if token else None
        except DATABASE_UNREACHABLE as error:
            await (await database_away(request, error))(scope, receive, send)
            return
        if found is None:
            await to_sign_in(request, f"/sign-in?next={quote(request.url.path)}")(
                scope, receive, send
            )
            return
        user, stage = found
        path: str = scope["path"]
        if stage is SessionStage.PASSWORD and not path.startswith(SECOND_FACTOR_PREFIXES):
            await to_sign_in(request, "/second-factor")(scope, receive, send)
            return
        if (
            stage is SessionStage.FULL
            and user.employer_status is not EmployerStatus.ACTIVE
            and not path.startswith(NOT_ACTIVE_PREFIXES)
        ):
            await to_sign_in(request, "/awaiting-approval")(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self._app(scope, receive, send)


def _multipart_form(scope: Scope) -> bool:
    return scope["method"] == "POST" and scope["path"] in MULTIPART_FORMS


def base_routes() -> list[BaseRoute]:
    return [
        Route("/lang", language_switch(LANGUAGE_COOKIE)),
        platform_static(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def employer_web_app(deps: WebDeps, sections: Sequence[BaseRoute]) -> ASGIApp:
    settings = deps.settings
    secret = settings.session_secret.get_secret_value()
    app = Starlette(
        routes=[*base_routes(), *sections],
        middleware=[
            signed_cookie_sessions(
                SESSION_COOKIE, secret, settings.session_hours, settings.secure_cookies
            ),
            Middleware(SignedInOnly, deps=deps),
        ],
        exception_handlers={**database_away_handlers(), HTTPException: PAGES.refused},
    )
    return protected_pages(
        app,
        csrf_cookie=CSRF_COOKIE,
        secret=secret,
        secure=settings.secure_cookies,
        always_protect=("/sign-in", "/sign-up", "/reset-password", "/invitation"),
        skip_if_scope=_multipart_form,
    )
