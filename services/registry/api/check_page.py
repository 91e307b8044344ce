"""The public check page (便民服务): what a person sees when checking a verification code.

Every text is shown in Chinese and English at once, the reader's language first (the public
does not switch languages to read a result). Templates are compiled once, at import; a page
costs one render of data the JSON check has already read. Nothing here reads the database.
"""

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from services.registry.catalogue.model import (
    Catalogue,
    UnknownBodyError,
    UnknownQualificationError,
)
from services.registry.domain.codes import mask_name
from services.registry.domain.errors import RegistryError
from services.registry.domain.verifications import Verification
from services.runtime.web import Language, SecurityHeaders, language_of, security_headers

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Never set by the page (both languages are always shown); honoured if a site sets it.
LANGUAGE_COOKIE = "qv_public_lang"

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


@pass_context
def _both(context: Context, en: str, zh: str, tag: str = "span") -> Markup:
    """Both languages, each marked with its `lang`, the reader's first."""
    pair = [("en", en), ("zh-CN", zh)]
    if context.get("first") != "en":
        pair.reverse()
    element = Markup('<{tag} lang="{lang}">{text}</{tag}>')
    return Markup(" ").join(element.format(tag=tag, lang=lang, text=text) for lang, text in pair)


_environment.globals["both"] = _both
_CHECK = _environment.get_template("check.html")
_LIMITED = _environment.get_template("check_limited.html")
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
        html = _CHECK.render(
            first=_first_language(request), base=self._base, typed=typed, result=result, error=error
        )
        return HTMLResponse(html, status_code=status_code, headers=_PAGE_HEADERS)

    def limited(self, request: Request, retry_after: int) -> HTMLResponse:
        html = _LIMITED.render(first=_first_language(request), retry_after=retry_after)
        headers = _PAGE_HEADERS | {"Retry-After": str(retry_after)}
        return HTMLResponse(html, status_code=429, headers=headers)


def static_files() -> ASGIApp:
    """The page's stylesheet and script; a day's caching, the same protective headers."""
    cached = security_headers(cache="public, max-age=86400")
    return SecurityHeaders(StaticFiles(directory=STATIC_DIR), cached)


def wants_html(request: Request) -> bool:
    """A browser following a link (it asks for text/html) rather than a program."""
    return "text/html" in request.headers.get("accept", "")


def _first_language(request: Request) -> Language:
    return language_of(request, LANGUAGE_COOKIE)
