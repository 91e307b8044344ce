"""Rendering the console's pages and fragments, and who may see and do what."""

from datetime import UTC, datetime
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from services.console.domain.roles import Operator
from services.console.web.i18n import LANGUAGE_COOKIE
from services.runtime.web import BilingualPages

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def _duration(seconds: float | None) -> str:
    """Seconds for a human: 850 ms, 12.4 s, 7.5 min, 3.2 h, 2.0 d."""
    if seconds is None:
        return "—"
    for unit, size in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0), ("s", 1.0)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds * 1000:.0f} ms"


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


PAGES = BilingualPages(TEMPLATES_DIR, LANGUAGE_COOKIE, who="operator")
templates = PAGES.templates
render = PAGES.render
templates.env.filters["duration"] = _duration
templates.env.filters["number"] = _number
templates.env.filters["when"] = _when


def operator_of(request: Request) -> Operator:
    """The signed-in operator (the session middleware lets no one else through)."""
    operator: Operator = request.state.operator
    return operator


def require_operator_role(request: Request) -> Operator:
    """The signed-in operator, if their role may act; else 403."""
    operator = operator_of(request)
    if not operator.may_act:
        raise HTTPException(403, "viewer-may-not-act")
    return operator
