"""Asynchronous enquiry channel: an e-mail to the body, answered days later by a callback (or by
an operator who telephoned). Sending returns at once with a pending answer; nothing waits."""

import hashlib
import hmac
from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID

import aiosmtplib
import orjson
from pydantic import BaseModel, ConfigDict

from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel
from services.verifier.channels.errors import TransientChannelError
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

CHANNEL = "async_enquiry"
SIGNATURE_HEADER = "X-Simulator-Signature"


def reference_of(request_id: UUID, body_id: str) -> str:
    """One enquiry per request and body; resending (after a crash) reuses it."""
    return f"{request_id}.{body_id}"


def split_reference(reference: str) -> tuple[UUID, str] | None:
    request_part, _, body_id = reference.partition(".")
    try:
        return UUID(request_part), body_id
    except ValueError:
        return None


class EnquiryAnswer(BaseModel):
    """The body's answer, by callback or entered by an operator."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    status: str
    registered_name: str | None = None
    answered_at: datetime | None = None


_STATUS = {
    "confirmed": BodyStatus.CONFIRMED,
    "not_found": BodyStatus.NOT_FOUND,
    "revoked": BodyStatus.REVOKED,
    "expired": BodyStatus.EXPIRED,
}


def answer_of(body_id: str, answer: EnquiryAnswer, raw: bytes, via: str) -> BodyAnswer:
    status = _STATUS.get(answer.status)
    return BodyAnswer(
        body_id,
        CHANNEL,
        status or BodyStatus.UNREACHABLE,
        registered_name=answer.registered_name,
        detail=f"answered via {via}" if status else f"unknown answer status via {via}",
        asked="e-mail enquiry",
        answer_digest=hashlib.sha256(raw).hexdigest(),
    )


def valid_signature(secret: str, body: bytes, offered: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, offered.strip().lower())


class EnquiryChannel:
    def __init__(self, smtp_host: str, smtp_port: int, callback_base_url: str, sender: str) -> None:
        self._smtp_host = smtp_host
        self._smtp_port = smtp_port
        self._callback_base = callback_base_url.rstrip("/")
        self._sender = sender

    def callback_url(self, reference: str) -> str:
        return f"{self._callback_base}/v1/enquiries/{reference}/answer"

    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer:
        reference = reference_of(request.request_id, body_id)
        message = self._message(channel, request, reference)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._smtp_host,
                port=self._smtp_port,
                timeout=channel.timeout_seconds,
                start_tls=False,
                use_tls=False,
            )
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as error:
            code = _smtp_code(error)
            if 400 <= code < 500:
                raise TransientChannelError(f"SMTP {code}") from error
            refused = f"enquiry refused: SMTP {code}"
            return BodyAnswer(body_id, CHANNEL, BodyStatus.UNREACHABLE, detail=refused)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TransientChannelError(type(error).__name__) from error
        return BodyAnswer(
            body_id,
            CHANNEL,
            BodyStatus.PENDING,
            detail=reference,
            asked=f"e-mail enquiry {reference} sent {datetime.now(UTC).isoformat()}",
        )

    def _message(
        self, channel: BodyChannel, request: VerificationRequested, reference: str
    ) -> EmailMessage:
        enquiry = {
            "reference": reference,
            "certificate_number": request.certificate.number,
            "holder_name": request.holder.name,
            "reply_to_url": self.callback_url(reference),
        }
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = channel.endpoint.removeprefix("mailto:")
        message["Subject"] = f"Certificate verification enquiry {reference}"
        message.set_content(
            "Please confirm the certificate described in the attached enquiry.json by replying "
            "to the reply_to_url it names.\n"
        )
        message.add_attachment(
            orjson.dumps(enquiry), maintype="application", subtype="json", filename="enquiry.json"
        )
        return message


def _smtp_code(
    error: aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused,
) -> int:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        return max(codes) if codes else 550  # permanent unless every refusal was temporary
    return error.code
