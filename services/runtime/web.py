"""What every web page of the platform shares, whichever service serves it: the reader's
language (Chinese or English), security headers, safe redirects and the CSRF refusal.

Templates write each text in both languages, `tr("English", "中文")`, and the reader's choice
(a cookie, else the browser's Accept-Language, else Chinese) picks one.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from asgi_csrf import asgi_csrf
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

PLATFORM_STATIC = Path(__file__).parent / "static"

# Pages load scripts and styles from their own origin only; nothing may frame them.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def platform_static() -> Mount:
    """`/static/platform/platform.css`: the look every site of the platform shares."""
    return Mount("/static/platform", StaticFiles(directory=PLATFORM_STATIC))


def security_headers(csp: str = STRICT_CSP, cache: str = "no-store") -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cache-control", cache.encode()),
    ]


class SecurityHeaders:
    """Adds `headers` to every response of the wrapped application."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._app = app
        self._headers = security_headers() if headers is None else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self._app(scope, receive, with_headers)


def language_of(request: Request, cookie: str) -> Language:
    chosen = request.cookies.get(cookie)
    if chosen == "en":
        return "en"
    if chosen == "zh":
        return "zh"
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "zh"


def pick(language: Language, en: str, zh: str) -> str:
    return en if language == "en" else zh


def safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def language_switch(cookie: str) -> Callable[[Request], Any]:
    """`GET /lang?to=en&next=/path`: remembers the reader's language for a year."""

    async def choose_language(request: Request) -> Response:
        chosen = request.query_params.get("to", "zh")
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        response.set_cookie(
            cookie, "en" if chosen == "en" else "zh", max_age=365 * 86_400, samesite="lax"
        )
        return response

    return choose_language


CSRF_FAILED_TEXT = (
    "CSRF check failed: reload the page and try again.\n"
    "跨站请求伪造（CSRF）校验失败：请刷新页面后重试。\n"
)


async def csrf_failed(scope: Scope, send: Send, message_id: Any) -> None:
    """asgi-csrf's refusal, in both languages and with the security headers."""
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *security_headers()],
        }
    )
    await send({"type": "http.response.body", "body": CSRF_FAILED_TEXT.encode()})


@pass_context
def _tr(context: Context, en: str, zh: str) -> str:
    return pick(context.get("lang", "zh"), en, zh)


class BilingualPages:
    """A site's templates, each page rendered in the reader's language with `tr(en, zh)`, the
    CSRF token, the path, and the signed-in person (`request.state.<who>`) as `<who>`."""

    def __init__(self, directory: Path, language_cookie: str, who: str) -> None:
        self.templates = Jinja2Templates(directory=directory)
        self.templates.env.globals["tr"] = _tr
        self.templates.env.globals["LANGUAGES"] = LANGUAGES
        self._cookie = language_cookie
        self._who = who

    def language(self, request: Request) -> Language:
        return language_of(request, self._cookie)

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response:
        token = request.scope.get("csrftoken")
        full = {
            "lang": self.language(request),
            self._who: getattr(request.state, self._who, None),
            "csrftoken": token() if callable(token) else "",
            "path": request.url.path,
            **(context or {}),
        }
        return self.templates.TemplateResponse(request, template, full, status_code=status_code)

    async def refused(self, request: Request, exc: Exception) -> Response:
        """An HTTPException as the site's `error.html`, in the reader's language."""
        assert isinstance(exc, HTTPException)
        language = self.language(request)
        if exc.status_code == 403:
            message = pick(language, "Your role may not do this.", "您的角色无权执行此操作。")
        elif exc.status_code == 404:
            message = pick(language, "Not found.", "未找到。")
        else:
            message = pick(language, "The request was refused.", "请求被拒绝。")
        context = {"status": exc.status_code, "message": message, "detail": exc.detail}
        return self.render(request, "error.html", context, status_code=exc.status_code)


def signed_cookie_sessions(cookie: str, secret: str, hours: float, secure: bool) -> Middleware:
    """The browser holds only a signed cookie with the session's token; sessions live in the
    service's database."""
    return Middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=cookie,
        max_age=int(timedelta(hours=hours).total_seconds()),
        same_site="strict",
        https_only=secure,
    )


def protected_pages(
    app: ASGIApp,
    *,
    csrf_cookie: str,
    secret: str,
    secure: bool,
    always_protect: Iterable[str],
    skip_if_scope: Callable[[Scope], bool] | None = None,
) -> ASGIApp:
    """Every unsafe request carries the CSRF token (asgi-csrf); every answer the headers."""
    protected = asgi_csrf(
        app,
        cookie_name=csrf_cookie,
        signing_secret=secret,
        always_protect=set(always_protect),
        always_set_cookie=True,
        skip_if_scope=skip_if_scope,
        cookie_secure=secure,
        cookie_samesite="Strict",
        send_csrf_failed=csrf_failed,
    )
    return SecurityHeaders(protected)


def to_sign_in(request: Request, target: str) -> Response:
    """Pages are redirected; htmx fragments told to (HX-Redirect); other requests get 401."""
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method != "GET":
        return Response("sign in first / 请先登录", status_code=401)
    return RedirectResponse(target, status_code=303)
