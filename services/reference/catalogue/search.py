"""Pure search and browse over a `Catalogue`.

Filters combine with AND. The text matches qualification names (Chinese, and the
English name where curated), abbreviations printed in them, and the names, aliases and
ids of the awarding bodies: every word of the text must occur somewhere, in any order,
partially, ignoring case, width, dashes and whitespace (see `text.fold`). The folded
text of each qualification is computed once per catalogue. Results always come in catalogue order
(list order, then sequence number of the qualification's first list; or that list's
own sequence when filtering by list), so pages are deterministic. Cursors are opaque
and bound to the edition and the filters they were issued for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import date

from services.reference.catalogue.model import Catalogue, ListId, Qualification
from services.reference.catalogue.text import fold, search_key

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SEPARATOR = "\x1f"  # between spellings, so that no word matches across two of them
_INDEXES_KEPT = 4
_indexes: dict[int, tuple[Catalogue, _Index]] = {}


class InvalidCursorError(ValueError):
    """The cursor was not issued for this edition and these filters."""


@dataclass(frozen=True)
class SearchQuery:
    """All filters optional; `None` or blank means "any".

    text:    partial qualification name, Chinese or English.
    body:    awarding body id (exact) or partial body name / alias.
    field:   a field (领域) exactly as the catalogue lists it, e.g. "金融".
    list_id: restrict to one list.
    active_on: keep only qualifications recognised on that date.
    """

    text: str | None = None
    body: str | None = None
    field: str | None = None
    list_id: ListId | None = None
    active_on: date | None = None


@dataclass(frozen=True)
class SearchPage:
    items: tuple[Qualification, ...]
    total: int
    offset: int
    next_cursor: str | None


def search(
    catalogue: Catalogue,
    query: SearchQuery = SearchQuery(),
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    offset: int = 0,
) -> SearchPage:
    """One page of matches. Continue with `next_cursor`, or address pages by `offset`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must not be negative, got {offset}")
    if cursor is not None and offset:
        raise ValueError("give a cursor or an offset, not both")
    fingerprint = _fingerprint(catalogue, query)
    if cursor is not None:
        offset = _decode_cursor(cursor, fingerprint)
    index = _index(catalogue)
    words = tuple(fold(query.text or "").split())
    matches = [
        q
        for q in _ordered(catalogue, query.list_id, index)
        if _matches(catalogue, q, query, index.haystacks[q.id], words)
    ]
    page = tuple(matches[offset : offset + limit])
    end = offset + len(page)
    next_cursor = _encode_cursor(end, fingerprint) if end < len(matches) else None
    return SearchPage(items=page, total=len(matches), offset=offset, next_cursor=next_cursor)


def field_facets(catalogue: Catalogue) -> tuple[tuple[str, int], ...]:
    """Every field with the number of qualifications in it, most common first."""
    counts = Counter(f for q in catalogue.qualifications for f in q.fields)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _ordered(
    catalogue: Catalogue, list_id: ListId | None, index: _Index
) -> tuple[Qualification, ...]:
    if list_id is not None:
        return catalogue.members_of(list_id)
    return index.in_catalogue_order


def _matches(
    catalogue: Catalogue,
    qualification: Qualification,
    query: SearchQuery,
    haystack: str,
    words: tuple[str, ...],
) -> bool:
    return (
        all(word in haystack for word in words)
        and _body_matches(catalogue, qualification, query.body)
        and _field_matches(qualification, query.field)
        and (query.list_id is None or query.list_id in qualification.list_ids())
        and (query.active_on is None or catalogue.is_active(qualification.id, query.active_on))
    )


@dataclass(frozen=True)
class _Index:
    haystacks: dict[str, str]  # folded searchable text per qualification id
    in_catalogue_order: tuple[Qualification, ...]


def _index(catalogue: Catalogue) -> _Index:
    """Built once per catalogue instance (catalogues are immutable)."""
    cached = _indexes.get(id(catalogue))
    if cached is not None and cached[0] is catalogue:
        return cached[1]
    index = _Index(
        haystacks={q.id: _searchable(catalogue, q) for q in catalogue.qualifications},
        in_catalogue_order=tuple(sorted(catalogue.qualifications, key=Qualification.sort_key)),
    )
    if len(_indexes) >= _INDEXES_KEPT:
        _indexes.clear()
    _indexes[id(catalogue)] = (catalogue, index)
    return index


def _searchable(catalogue: Catalogue, qualification: Qualification) -> str:
    spellings = [qualification.name, qualification.name_en or ""]
    for body in catalogue.bodies_of(qualification.id):
        spellings += [body.id, *body.spellings()]
    return _SEPARATOR.join(fold(s).replace(" ", "") for s in spellings if s)


def _body_matches(catalogue: Catalogue, qualification: Qualification, body: str | None) -> bool:
    needle = search_key(body or "")
    if not needle:
        return True
    for awarding in catalogue.bodies_of(qualification.id):
        if needle == awarding.id or any(needle in search_key(s) for s in awarding.spellings()):
            return True
    return False


def _field_matches(qualification: Qualification, field: str | None) -> bool:
    wanted = search_key(field or "")
    return not wanted or any(search_key(f) == wanted for f in qualification.fields)


def _fingerprint(catalogue: Catalogue, query: SearchQuery) -> str:
    parts = (
        catalogue.edition.id,
        search_key(query.text or ""),
        search_key(query.body or ""),
        search_key(query.field or ""),
        query.list_id.value if query.list_id else "",
        query.active_on.isoformat() if query.active_on else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]


def _encode_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{fingerprint}:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        issued_for, offset_text = raw.split(":", 1)
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursorError("malformed cursor") from exc
    if issued_for != fingerprint or offset < 0:
        raise InvalidCursorError("cursor does not belong to this search")
    return offset
