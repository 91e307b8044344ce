"""The public check page (便民服务): what a person sees when checking a verification code.

Every text is shown in Chinese and English at once, the reader's language first (the public
does not switch languages to read a result). Templates are compiled once, at import; a page
costs one render of data the JSON check has already read. Nothing here reads the database.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from services.reference.catalogue.model import (
    Catalogue,
    UnknownBodyError,
    UnknownQualificationError,
)
from services.registry.domain.codes import mask_name
from services.registry.domain.errors import RegistryError
from services.registry.domain.verifications import Verification
from services.runtime.web import (
    LANGUAGES,
    Language,
    SecurityHeaders,
    language_of,
    security_headers,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Never set by the page (both languages are always shown); honoured if a site sets it.
LANGUAGE_COOKIE = "qv_public_lang"


def _pairing(english_first: bool) -> Callable[..., Markup]:
    def both(en: str, zh: str, tag: str = "span") -> Markup:
        """Both languages, each marked with its `lang`, the reader's first."""
        english = f'<{tag} lang="en">{escape(en)}</{tag}>'
        chinese = f'<{tag} lang="zh-CN">{escape(zh)}</{tag}>'
        return Markup(f"{english} {chinese}" if english_first else f"{chinese} {english}")

    return both


def _templates(first: Language) -> dict[str, Template]:
    """The templates for readers of `first`. `"English"|both("中文")` is a filter without
    context, so Jinja folds it into the compiled template: fixed texts cost nothing per page."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    environment.filters["both"] = _pairing(first == "en")
    environment.globals["first"] = first
    names = ("check.html", "check_limited.html", "check_unavailable.html")
    return {name: environment.get_template(name) for name in names}


_TEMPLATES: dict[Language, dict[str, Template]] = {lang: _templates(lang) for lang in LANGUAGES}
_PAGE_HEADERS = {name.decode(): value.decode() for name, value in security_headers()}


@dataclass(frozen=True, slots=True)
class Named:
    zh: str
    en: str | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the page may say about a code: never the document number or the full name."""

    code: str
    status: str  # valid / revoked / unknown
    holder_name_masked: str = ""
    qualification: Named | None = None
    awarding_bodies: tuple[str, ...] = ()
    verified_on: str = ""
    revocation_reason: str | None = None


def found(verification: Verification, catalogue: Catalogue) -> CheckResult:
    return CheckResult(
        code=str(verification.code),
        status=verification.status.value,
        holder_name_masked=mask_name(verification.holder_name),
        qualification=_qualification(catalogue, verification.qualification_id),
        awarding_bodies=tuple(_body_name(catalogue, b) for b in verification.body_ids),
        verified_on=verification.verified_at.date().isoformat(),
        revocation_reason=verification.revocation_reason,
    )


def _qualification(catalogue: Catalogue, qualification_id: str) -> Named | None:
    try:
        qualification = catalogue.qualification(qualification_id)
    except UnknownQualificationError:
        return None
    return Named(qualification.name, qualification.name_en)


def _body_name(catalogue: Catalogue, body_id: str) -> str:
    try:
        return catalogue.body(body_id).name  # the notice's name: Chinese and English
    except UnknownBodyError:
        return body_id


def unknown(code: str) -> CheckResult:
    return CheckResult(code=code, status="unknown")


class CheckPages:
    """The pages, for a registry whose keys and status list are published under `base_url`."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url.rstrip("/")

    def check(
        self,
        request: Request,
        *,
        typed: str = "",
        result: CheckResult | None = None,
        error: RegistryError | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """The form, with the result of a check or the reason the typed code was refused."""
        template = _TEMPLATES[_first_language(request)]["check.html"]
        html = template.render(base=self._base, typed=typed, result=result, error=error)
        return HTMLResponse(html, status_code=status_code, headers=_PAGE_HEADERS)

    def limited(self, request: Request, retry_after: int) -> HTMLResponse:
        template = _TEMPLATES[_first_language(request)]["check_limited.html"]
        html = template.render(retry_after=retry_after)
        headers = _PAGE_HEADERS | {"Retry-After": str(retry_after)}
        return HTMLResponse(html, status_code=429, headers=headers)

    def unavailable(self, request: Request, retry_after: int) -> HTMLResponse:
        """While the database is away: the same check again in a few seconds."""
        template = _TEMPLATES[_first_language(request)]["check_unavailable.html"]
        query = f"?{request.url.query}" if request.url.query else ""
        html = template.render(retry_after=retry_after, query=query)
        headers = _PAGE_HEADERS | {"Retry-After": str(retry_after)}
        return HTMLResponse(html, status_code=503, headers=headers)


def static_files() -> ASGIApp:
    """The page's stylesheet and script; a day's caching, the same protective headers."""
    cached = security_headers(cache="public, max-age=86400")
    return SecurityHeaders(StaticFiles(directory=STATIC_DIR), cached)


def wants_html(request: Request) -> bool:
    """A browser following a link (it asks for text/html) rather than a program."""
    return "text/html" in request.headers.get("accept", "")


def _first_language(request: Request) -> Language:
    return language_of(request, LANGUAGE_COOKIE)
