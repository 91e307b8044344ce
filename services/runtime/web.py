"""What every web page of the platform shares, whichever service serves it: the reader's
language (Chinese or English), security headers, safe redirects and the CSRF refusal.

Templates write each text in both languages, `tr("English", "中文")`, and the reader's choice
(a cookie, else the browser's Accept-Language, else Chinese) picks one.
"""

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

# Pages load scripts and styles from their own origin only; nothing may frame them.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


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
