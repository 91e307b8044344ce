"""Rendering the employer pages and fragments, and who may see and do what."""

from datetime import UTC, datetime
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.intake.domain.accounts import WebUser
from services.runtime.web import BilingualPages, Language

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
LANGUAGE_COOKIE = "qv_employer_lang"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


PAGES = BilingualPages(TEMPLATES_DIR, LANGUAGE_COOKIE, who="user")
PAGES.templates.env.filters["when"] = _when
templates = PAGES.templates
render = PAGES.render


def reader_language(request: Request) -> Language:
    return PAGES.language(request)


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
