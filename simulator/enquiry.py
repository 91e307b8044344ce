"""Channel 4 core (pure): reading an enquiry e-mail and writing the body's signed answer."""

import email.policy
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal
from urllib.parse import urlsplit

from simulator.bodies import BODY_ID_PATTERN
from simulator.population import SimulatedCertificate

ENQUIRY_MAILBOX = "verify"
ENQUIRY_DOMAIN_SUFFIX = ".bodies.test"
SIGNATURE_HEADER = "X-Simulator-Signature"
REQUIRED_FIELDS = ("reference", "certificate_number", "holder_name", "reply_to_url")
AnswerStatus = Literal["confirmed", "not_found", "revoked", "expired"]
_ANSWER_FOR_STATUS: dict[str, AnswerStatus] = {
    "active": "confirmed",
    "revoked": "revoked",
    "expired": "expired",
}


class InvalidEnquiryError(ValueError):
    """The e-mail is not an enquiry this body can answer; the message says why."""


@dataclass(frozen=True)
class EnquiryRequest:
    reference: str
    certificate_number: str
    holder_name: str
    reply_to_url: str


def body_of_recipient(address: str) -> str | None:
    """`verify@aws.bodies.test` -> `aws`; None for any other address."""
    mailbox, _, domain = address.strip().strip("<>").lower().rpartition("@")
    if mailbox != ENQUIRY_MAILBOX or not domain.endswith(ENQUIRY_DOMAIN_SUFFIX):
        return None
    body_id = domain.removesuffix(ENQUIRY_DOMAIN_SUFFIX)
    return body_id if BODY_ID_PATTERN.fullmatch(body_id) else None


def parse_enquiry(raw: bytes) -> EnquiryRequest:
    """Reads the first application/json part (attachment or body); failing that, a text body
    that is either a JSON object or `Key: value` lines (e.g. `Certificate-Number: AWS-1`)."""
    message = BytesParser(EmailMessage, policy=email.policy.default).parsebytes(raw)
    fields = _json_part(message)
    if fields is None:
        fields = _text_fields(message)
    return _validated(fields)


def answer_enquiry(
    body_id: str,
    request: EnquiryRequest,
    cert: SimulatedCertificate | None,
    answered_at: datetime,
) -> dict[str, Any]:
    status: AnswerStatus = _ANSWER_FOR_STATUS[cert.status] if cert else "not_found"
    return {
        "reference": request.reference,
        "body_id": body_id,
        "certificate_number": request.certificate_number,
        "status": status,
        "registered_name": cert.holder_name if cert else None,
        "answered_at": answered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def sign_callback(secret: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of the exact request body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _json_part(message: EmailMessage) -> dict[str, Any] | None:
    for part in message.walk():
        if part.get_content_type() == "application/json":
            content = part.get_content()
            text = content.decode() if isinstance(content, bytes) else str(content)
            return _json_object(text)
    return None


def _text_fields(message: EmailMessage) -> dict[str, Any]:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        raise InvalidEnquiryError("no text/plain body and no application/json part")
    text = str(part.get_content()).strip()
    if text.startswith("{"):
        return _json_object(text)
    fields: dict[str, Any] = {}
    for line in text.splitlines():
        key, separator, value = line.partition(":")
        if separator:
            fields.setdefault(_field_name(key), value.strip())
    return fields


def _field_name(key: str) -> str:
    return "_".join(key.strip().lower().replace("-", " ").split())


def _json_object(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEnquiryError("the JSON part is not valid JSON") from exc
    if not isinstance(document, dict):
        raise InvalidEnquiryError("the JSON part is not an object")
    return document


def _validated(fields: dict[str, Any]) -> EnquiryRequest:
    values = {name: str(fields.get(name) or "").strip() for name in REQUIRED_FIELDS}
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise InvalidEnquiryError(f"missing fields: {', '.join(missing)}")
    url = urlsplit(values["reply_to_url"])
    if url.scheme not in ("http", "https") or not url.netloc:
        raise InvalidEnquiryError("reply_to_url must be an absolute http(s) URL")
    return EnquiryRequest(**values)
