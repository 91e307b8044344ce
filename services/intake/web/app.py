"""The employer web application: sessions, the signed-in user, CSRF, the reader's language,
security headers, and the sections' routes."""

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from services.intake.domain.accounts import EmployerStatus, SessionStage
from services.intake.web.deps import WebDeps
from services.intake.web.pages import LANGUAGE_COOKIE, STATIC_DIR, reader_language, render
from services.runtime.observability import database_away, database_away_handlers
from services.runtime.resilience import DATABASE_UNREACHABLE
from services.runtime.web import SecurityHeaders, csrf_failed, language_switch, pick

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
            await _redirect(request, f"/sign-in?next={quote(request.url.path)}")(
                scope, receive, send
            )
            return
        user, stage = found
        path: str = scope["path"]
        if stage is SessionStage.PASSWORD and not path.startswith(SECOND_FACTOR_PREFIXES):
            await _redirect(request, "/second-factor")(scope, receive, send)
            return
        if (
            stage is SessionStage.FULL
            and user.employer_status is not EmployerStatus.ACTIVE
            and not path.startswith(NOT_ACTIVE_PREFIXES)
        ):
            await _redirect(request, "/awaiting-approval")(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self._app(scope, receive, send)


def _redirect(request: Request, target: str) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method != "GET":
        return Response("sign in first / 请先登录", status_code=401)
    return RedirectResponse(target, status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    language = reader_language(request)
    if exc.status_code == 403:
        message = pick(language, "Your role may not do this.", "您的角色无权执行此操作。")
    elif exc.status_code == 404:
        message = pick(language, "Not found.", "未找到。")
    else:
        message = pick(language, "The request was refused.", "请求被拒绝。")
    context = {"status": exc.status_code, "message": message}
    return render(request, "error.html", context, status_code=exc.status_code)


def _multipart_form(scope: Scope) -> bool:
    return scope["method"] == "POST" and scope["path"] in MULTIPART_FORMS


def base_routes() -> list[BaseRoute]:
    return [
        Route("/lang", language_switch(LANGUAGE_COOKIE)),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def employer_web_app(deps: WebDeps, sections: Sequence[BaseRoute]) -> ASGIApp:
    settings = deps.settings
    secret = settings.session_secret.get_secret_value()
    app = Starlette(
        routes=[*base_routes(), *sections],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(timedelta(hours=settings.session_hours).total_seconds()),
                same_site="strict",
                https_only=settings.secure_cookies,
            ),
            Middleware(SignedInOnly, deps=deps),
        ],
        exception_handlers={**database_away_handlers(), HTTPException: _refused},
    )
    protected = asgi_csrf(
        app,
        cookie_name=CSRF_COOKIE,
        signing_secret=secret,
        always_protect={"/sign-in", "/sign-up", "/reset-password", "/invitation"},
        always_set_cookie=True,
        skip_if_scope=_multipart_form,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="Strict",
        send_csrf_failed=csrf_failed,
    )
    return SecurityHeaders(protected)
