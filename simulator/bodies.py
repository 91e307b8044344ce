"""Awarding-body identifiers: any ASCII slug names a body, so the catalogue is not needed."""

import re

BODY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_FAULTS_KEY = "_default"


class UnknownBodyError(ValueError):
    """The path names something that is not a body slug (e.g. upper case or a dot)."""


def require_body_id(body_id: str) -> str:
    if not BODY_ID_PATTERN.fullmatch(body_id):
        raise UnknownBodyError(body_id)
    return body_id


def display_name(body_id: str) -> str:
    """`aws` -> `AWS`, `microsoft` -> `Microsoft`: short slugs read as acronyms."""
    words = re.split(r"[-_]+", body_id)
    return " ".join(word.upper() if len(word) <= 4 else word.capitalize() for word in words)
