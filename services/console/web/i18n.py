"""The console speaks Chinese and English; the reader switches (services/runtime/web.py)."""

from starlette.requests import Request

from services.runtime.web import LANGUAGES, Language, pick
from services.runtime.web import language_of as _language_of

LANGUAGE_COOKIE = "qv_console_lang"

__all__ = ["LANGUAGES", "LANGUAGE_COOKIE", "Language", "language_of", "pick"]


def language_of(request: Request) -> Language:
    return _language_of(request, LANGUAGE_COOKIE)
