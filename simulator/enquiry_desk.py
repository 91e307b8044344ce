"""Channel 4 edge: the SMTP mailbox that takes enquiries and the clerk that answers them
later by POSTing a signed JSON callback; plus `GET /enquiries/{body_id}` for operators."""

import asyncio
import itertools
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import orjson
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from simulator.bodies import require_body_id
from simulator.context import SimulatorContext
from simulator.enquiry import (
    SIGNATURE_HEADER,
    EnquiryRequest,
    InvalidEnquiryError,
    answer_enquiry,
    body_of_recipient,
    parse_enquiry,
    sign_callback,
)

CHANNEL = "enquiry"
EnquiryState = Literal["waiting", "answered", "delivery_failed"]
_log = logging.getLogger("simulator.enquiry")


@dataclass
class EnquiryRecord:
    """What the desk keeps about an enquiry; deliberately no holder name."""

    enquiry_id: int
    body_id: str
    reference: str
    certificate_number: str
    received_at: str
    answer_due_in_seconds: float
    state: EnquiryState = "waiting"
    answer_status: str | None = None
    delivery_attempts: int = 0
    last_delivery_error: str | None = None


class EnquiryDesk:
    def __init__(self, ctx: SimulatorContext, client: httpx.AsyncClient) -> None:
        self._ctx = ctx
        self._client = client
        self._records: list[EnquiryRecord] = []
        self._ids = itertools.count(1)
        self._pending: set[asyncio.Task[None]] = set()

    def accepts(self, body_id: str) -> bool:
        """False while the body is in an outage: its mailbox defers mail (SMTP 451)."""
        return not self._ctx.faults.effective(body_id).outage

    def receive(self, body_id: str, request: EnquiryRequest) -> EnquiryRecord:
        config = self._ctx.faults.effective(body_id)
        delay_days = config.enquiry_delay_days
        if delay_days is None:
            delay_days = self._ctx.settings.enquiry_delay_days
        record = EnquiryRecord(
            enquiry_id=next(self._ids),
            body_id=body_id,
            reference=request.reference,
            certificate_number=request.certificate_number,
            received_at=_utc_now(),
            answer_due_in_seconds=self._ctx.settings.enquiry_delay_seconds(delay_days),
        )
        self._records.append(record)
        task = asyncio.create_task(self._answer_later(record, request))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        self._ctx.record(CHANNEL, body_id, "received")
        _log.info("enquiry_received", extra={"body": body_id, "reference": request.reference})
        return record

    def listing(self, body_id: str) -> list[dict[str, Any]]:
        return [asdict(record) for record in self._records if record.body_id == body_id]

    async def close(self) -> None:
        """Cancels answers not yet sent; they are lost, as a simulator restart loses them."""
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)

    async def _answer_later(self, record: EnquiryRecord, request: EnquiryRequest) -> None:
        await asyncio.sleep(record.answer_due_in_seconds)
        cert = self._ctx.certificate(record.body_id, request.certificate_number)
        answer = answer_enquiry(record.body_id, request, cert, datetime.now(UTC))
        record.answer_status = answer["status"]
        body = orjson.dumps(answer)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_callback(self._ctx.settings.callback_secret, body),
        }
        retry_in = self._ctx.settings.callback_retry_seconds
        for attempt in range(1, self._ctx.settings.callback_attempts + 1):
            record.delivery_attempts = attempt
            if await self._deliver(record, request.reply_to_url, body, headers):
                record.state = "answered"
                self._ctx.record(CHANNEL, record.body_id, "answered")
                return
            await asyncio.sleep(retry_in)
            retry_in *= 2
        record.state = "delivery_failed"
        self._ctx.record(CHANNEL, record.body_id, "delivery_failed")

    async def _deliver(
        self, record: EnquiryRecord, url: str, body: bytes, headers: dict[str, str]
    ) -> bool:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            record.last_delivery_error = type(exc).__name__
        else:
            if response.is_success:
                return True
            record.last_delivery_error = f"HTTP {response.status_code}"
        _log.warning(
            "callback_failed",
            extra={
                "body": record.body_id,
                "reference": record.reference,
                "error": record.last_delivery_error,
            },
        )
        return False


class EnquiryMailbox:
    """aiosmtpd handler: one mailbox `verify@{body_id}.bodies.test` per body."""

    def __init__(self, desk: EnquiryDesk) -> None:
        self._desk = desk

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        body_id = body_of_recipient(address)
        if body_id is None:
            return "550 5.1.1 No such mailbox: enquiries go to verify@<body>.bodies.test"
        if not self._desk.accepts(body_id):
            return "451 4.3.2 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        try:
            request = parse_enquiry(raw if isinstance(raw, bytes) else str(raw).encode())
        except InvalidEnquiryError as exc:
            return f"550 5.6.0 Not an enquiry: {exc}"
        for address in envelope.rcpt_tos:
            body_id = body_of_recipient(address)
            if body_id is not None:
                self._desk.receive(body_id, request)
        return "250 Enquiry recorded, the answer follows by callback"


def build_router(desk: EnquiryDesk) -> APIRouter:
    router = APIRouter(tags=["enquiries"])

    @router.get("/enquiries/{body_id}")
    async def list_enquiries(body_id: str) -> JSONResponse:
        require_body_id(body_id)
        return JSONResponse({"items": desk.listing(body_id)})

    return router


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
