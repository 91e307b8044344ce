"""Load an edition JSON file into a validated `Catalogue` (the module's only I/O)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from services.reference.catalogue.model import Catalogue

DEFAULT_EDITION_PATH = Path(__file__).parent / "data" / "edition-2025.json"
SUPPORTED_SCHEMA_VERSIONS = frozenset({1})


class CatalogueLoadError(RuntimeError):
    """The edition file is missing, unreadable, malformed or inconsistent."""


def load_edition(path: Path | None = None) -> Catalogue:
    """Read and validate an edition file (default: the packaged 2025 edition).

    Raises `CatalogueLoadError` naming the file and every broken invariant, so a bad
    data file stops the service at start-up instead of answering wrongly later.
    """
    source = path or DEFAULT_EDITION_PATH
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueLoadError(f"cannot read catalogue edition {source}: {exc}") from exc
    if not isinstance(document, dict):
        raise CatalogueLoadError(f"{source}: top level must be a JSON object")
    version = document.pop("schema_version", None)
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise CatalogueLoadError(f"{source}: unsupported schema_version {version!r}")
    try:
        return Catalogue.model_validate(document)
    except ValidationError as exc:
        raise CatalogueLoadError(f"invalid catalogue edition {source}: {exc}") from exc
