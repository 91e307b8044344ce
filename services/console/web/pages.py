"""Rendering the console's pages and fragments, and who may see and do what."""

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

from services.console.domain.roles import Operator
from services.console.web.i18n import LANGUAGES, language_of, pick

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@pass_context
def _tr(context: Context, en: str, zh: str) -> str:
    return pick(context.get("lang", "zh"), en, zh)


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


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["tr"] = _tr
templates.env.globals["LANGUAGES"] = LANGUAGES
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


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """A page or fragment in the reader's language, with the operator and the CSRF token."""
    token = request.scope.get("csrftoken")
    full = {
        "lang": language_of(request),
        "operator": getattr(request.state, "operator", None),
        "csrftoken": token() if callable(token) else "",
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, full, status_code=status_code)
