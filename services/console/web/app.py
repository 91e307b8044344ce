"""The console's web application: sign-in, sessions, CSRF, the reader's language, security
headers, and the sections' routes."""

from collections.abc import Sequence
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from services.console.usecases.sign_in import Refusal
from services.console.web.deps import Deps
from services.console.web.i18n import LANGUAGE_COOKIE
from services.console.web.pages import PAGES, STATIC_DIR, operator_of, render
from services.runtime.observability import (
    HealthCheck,
    database_away,
    database_away_handlers,
    ops_routes,
)
from services.runtime.resilience import DATABASE_UNREACHABLE, Loops
from services.runtime.web import (
    language_switch,
    platform_static,
    protected_pages,
    safe_next,
    signed_cookie_sessions,
    to_sign_in,
)

SESSION_COOKIE = "qv_console_session"
CSRF_COOKIE = "qv_console_csrf"
PUBLIC_PREFIXES = ("/sign-in", "/static/", "/livez", "/readyz", "/healthz", "/metrics", "/lang")


class SignedInOnly:
    """Lets a request through only with a live session, setting `request.state.operator`;
    pages redirect to sign-in, htmx fragments are told to (HX-Redirect), others get 401."""

    def __init__(self, app: ASGIApp, deps: Deps) -> None:
        self._app = app
        self._deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC_PREFIXES):
            await self._app(scope, receive, send)
            return
        request = Request(scope)
        token = request.session.get("token")
        try:
            operator = await self._deps.accounts.session_operator(token) if token else None
        except DATABASE_UNREACHABLE as error:
            response = await database_away(request, error)
            await response(scope, receive, send)
            return
        if operator is None:
            await to_sign_in(request, f"/sign-in?next={quote(request.url.path)}")(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})["operator"] = operator
        await self._app(scope, receive, send)


def account_routes(deps: Deps) -> list[BaseRoute]:
    async def sign_in_page(request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        return render(request, "sign_in.html", {"next": target})

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", "/")))
        outcome = await deps.sign_in(username, password)
        if isinstance(outcome, Refusal):
            context = {"next": target, "refusal": outcome.value, "username": username}
            return render(request, "sign_in.html", context, status_code=401)
        request.session.clear()
        request.session["token"] = outcome.session_token
        return RedirectResponse(target, status_code=303)

    async def sign_out(request: Request) -> Response:
        token = request.session.get("token")
        if token:
            await deps.accounts.close_session(token)
            await deps.audit.record(
                actor=operator_of(request).username, action="sign-out", target="console"
            )
        request.session.clear()
        return RedirectResponse("/sign-in", status_code=303)

    async def overview(request: Request) -> Response:
        recent = await deps.audit.recent(limit=10)
        return render(request, "overview.html", {"recent": recent})

    async def audit(request: Request) -> Response:
        target = request.query_params.get("target") or None
        actor = request.query_params.get("actor") or None
        entries = await deps.audit.recent(target=target, actor=actor, limit=200)
        context = {"entries": entries, "target": target or "", "actor": actor or ""}
        return render(request, "audit.html", context)

    return [
        Route("/", overview),
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
        Route("/lang", language_switch(LANGUAGE_COOKIE)),
        Route("/audit", audit),
        platform_static(),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def console_app(
    deps: Deps,
    sections: Sequence[BaseRoute],
    health: dict[str, HealthCheck],
    loops: Loops | None = None,
) -> ASGIApp:
    settings = deps.settings
    secret = settings.session_secret.get_secret_value()
    app = Starlette(
        routes=[*ops_routes(health, loops), *account_routes(deps), *sections],
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
        always_protect=("/sign-in",),
    )
