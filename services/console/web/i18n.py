"""The console speaks Chinese and English; the reader switches. Templates write each text in
both languages, `tr("English", "中文")`, and the reader's choice picks one."""

from typing import Literal

from starlette.requests import Request

Language = Literal["zh", "en"]
LANGUAGE_COOKIE = "qv_console_lang"
LANGUAGES: tuple[Language, ...] = ("zh", "en")


def language_of(request: Request) -> Language:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen == "en":
        return "en"
    if chosen == "zh":
        return "zh"
    accepted = request.headers.get("accept-language", "")
    return "en" if accepted.lower().startswith("en") else "zh"


def pick(language: Language, en: str, zh: str) -> str:
    return en if language == "en" else zh
