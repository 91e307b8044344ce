"""Previews of parked records with personal data masked (pure): document and certificate
numbers (and secrets) are removed entirely, names, e-mail addresses and phone numbers masked.

A payload that is JSON is masked field by field: known fields by their name, and every other
string scanned for e-mail addresses, phone numbers and identifier-like tokens. A payload that is
not JSON has no fields to tell a name by, so only its size is shown.
"""

import json
import re
from collections.abc import Callable
from typing import Any

REMOVED = "[removed]"

# Fields whose value is a document or certificate number, a credential or a secret: never
# shown, not even in part.
_REMOVED_FIELDS = re.compile(
    r"(^|_)(number|document|passport|resident_id|id_number|credential_jwt|jwt|secret|"
    r"sealed_secret|token|password|api_key|holder_ref)($|_)",
    re.IGNORECASE,
)
_NAME_FIELDS = re.compile(r"(^|_)(name|name_zh|holder_name|full_name)$", re.IGNORECASE)
_EMAIL_FIELDS = re.compile(r"(^|_)(email|emails|e_mail)$", re.IGNORECASE)
_PHONE_FIELDS = re.compile(r"(^|_)(phone|mobile|telephone)$", re.IGNORECASE)
# Shown as they are: identifiers of requests and events, dates, codes of the catalogue.
_PLAIN_FIELDS = frozenset(
    {
        "event_id",
        "request_id",
        "employer_id",
        "occurred_at",
        "decided_at",
        "issued_on",
        "expires_on",
        "withdrawn_on",
        "expected_completion_at",
        "qualification_id",
        "edition_id",
        "region",
        "body_ids",
        "body_id",
        "verdict",
        "stage",
        "check",
        "outcome",
        "channel",
        "seconds",
        "nationality",
        "verification_code",
    }
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s-]{6,}\d")
# A token mixing letters and at least four digits, or a long run of digits: a document or
# certificate number may look like this (E12345678, AWS-68234618, 11010519491231002X).
_IDENTIFIER = re.compile(r"\b(?=[\w-]*\d[\w-]*\d[\w-]*\d[\w-]*\d)[\w-]{5,}\b")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def mask_name(name: str) -> str:
    """Each word's first character, the rest as asterisks: "Kenji Nguyen" → "K**** N*****"."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split(" "))


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def mask_text(text: str) -> str:
    """Free text: e-mail addresses and phone numbers masked, identifier-like tokens removed."""
    text = _EMAIL.sub(lambda m: mask_email(m.group()), text)
    text = _IDENTIFIER.sub(
        lambda m: m.group() if _UUID.match(m.group()) else REMOVED,
        text,
    )
    return _PHONE.sub(lambda m: mask_phone(m.group()), text)


def mask_error_detail(detail: str) -> str:
    """An error's text (a dead-letter reason) may quote the record it choked on: every quoted
    value goes, and the rest is masked as free text."""
    return mask_text(_QUOTED.sub("'…'", detail))


def mask_value(value: Any, field: str = "") -> Any:
    """A decoded JSON value with personal data masked, by its field name and its content."""
    if isinstance(value, dict):
        return {key: mask_value(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item, field) for item in value]
    if _REMOVED_FIELDS.search(field):
        return REMOVED if value is not None else None
    if not isinstance(value, str):
        return value
    return _string_masker(field)(value)


def _string_masker(field: str) -> Callable[[str], str]:
    if _NAME_FIELDS.search(field):
        return mask_name
    if _EMAIL_FIELDS.search(field):
        return lambda v: _EMAIL.sub(lambda m: mask_email(m.group()), v)
    if _PHONE_FIELDS.search(field):
        return mask_phone
    if field in _PLAIN_FIELDS:
        return lambda v: v if _UUID.match(v) or _TIMESTAMP.match(v) or len(v) < 64 else v[:64]
    return mask_text


def masked_preview(payload: bytes | None, limit: int = 4000) -> str:
    """The payload as indented JSON with personal data masked, cut at `limit` characters."""
    if payload is None:
        return "(no payload)"
    try:
        decoded = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return f"(not JSON, {len(payload)} bytes: not shown, it may hold personal data)"
    text = json.dumps(mask_value(decoded), ensure_ascii=False, indent=2)
    return text if len(text) <= limit else text[:limit] + "…"
