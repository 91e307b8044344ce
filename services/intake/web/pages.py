"""Rendering the employer pages and fragments, and who may see and do what."""

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from services.intake.domain.accounts import WebUser
from services.runtime.web import LANGUAGES, Language, language_of, pick

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
LANGUAGE_COOKIE = "qv_employer_lang"


def reader_language(request: Request) -> Language:
    return language_of(request, LANGUAGE_COOKIE)


@pass_context
def _tr(context: Context, en: str, zh: str) -> str:
    return pick(context.get("lang", "zh"), en, zh)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["tr"] = _tr
templates.env.globals["LANGUAGES"] = LANGUAGES
templates.env.filters["when"] = _when


def user_of(request: Request) -> WebUser:
    """The signed-in user (the session middleware lets no one else through)."""
    user: WebUser = request.state.user
    return user


def require_applicant(request: Request) -> WebUser:
    user = user_of(request)
    if not user.may_apply:
        raise HTTPException(403, "role-may-not-apply")
    return user


def require_admin(request: Request) -> WebUser:
    user = user_of(request)
    if not user.may_administer:
        raise HTTPException(403, "role-may-not-administer")
    return user


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A page or fragment in the reader's language, with the user and the CSRF token."""
    token = request.scope.get("csrftoken")
    full = {
        "lang": reader_language(request),
        "user": getattr(request.state, "user", None),
        "csrftoken": token() if callable(token) else "",
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, full, status_code=status_code)
