import asyncio
import hashlib
import hmac
import json
from email.message import EmailMessage

import aiosmtplib
import httpx
import orjson
import pytest

from simulator.enquiry import InvalidEnquiryError, body_of_recipient, parse_enquiry
from simulator.population import find, unknown_certificate_number
from simulator.server import RunningSimulator
from tests.simulator.support import CALLBACK_SECRET, SEED, CallbackReceiver, set_faults


def enquiry_mail(body_id: str, fields: dict[str, str], as_attachment: bool = False) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "verifier@platform.test"
    message["To"] = f"verify@{body_id}.bodies.test"
    message["Subject"] = f"Certificate verification enquiry {fields.get('reference', '')}"
    if as_attachment:
        message.set_content("Please find our enquiry attached.")
        message.add_attachment(
            json.dumps(fields, ensure_ascii=False).encode(),
            maintype="application",
            subtype="json",
            filename="enquiry.json",
        )
    else:
        message.set_content("".join(f"{key}: {value}\n" for key, value in fields.items()))
    return message


def text_fields(reference: str, number: str, holder: str, url: str) -> dict[str, str]:
    return {
        "Reference": reference,
        "Certificate-Number": number,
        "Holder-Name": holder,
        "Reply-To-URL": url,
    }


async def send(simulator: RunningSimulator, message: EmailMessage) -> None:
    await aiosmtplib.send(message, hostname="127.0.0.1", port=simulator.smtp_port, timeout=5)


def verified_answer(raw: bytes, headers: dict[str, str]) -> dict[str, object]:
    expected = hmac.new(CALLBACK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-simulator-signature"], expected)
    answer: dict[str, object] = orjson.loads(raw)
    return answer


async def test_enquiry_is_answered_by_a_signed_callback(
    simulator: RunningSimulator, http: httpx.AsyncClient, callback_receiver: CallbackReceiver
) -> None:
    cert = find(SEED, "cfa", "authentic")
    fields = text_fields("REQ-1", cert.certificate_number, cert.claimed_name, callback_receiver.url)
    await send(simulator, enquiry_mail("cfa", fields))
    async with asyncio.timeout(5):
        await callback_receiver.wait_for(1)
    answer = verified_answer(*callback_receiver.received[0])
    assert answer["reference"] == "REQ-1"
    assert answer["body_id"] == "cfa"
    assert answer["certificate_number"] == cert.certificate_number
    assert answer["status"] == "confirmed"
    assert answer["registered_name"] == cert.holder_name
    assert str(answer["answered_at"]).endswith("Z")
    listing = (await http.get("/enquiries/cfa")).json()["items"]
    record = next(item for item in listing if item["reference"] == "REQ-1")
    assert record["state"] == "answered" and record["answer_status"] == "confirmed"
    assert "holder_name" not in record


@pytest.mark.parametrize(
    ("kind", "status"), [("revoked", "revoked"), ("expired", "expired"), (None, "not_found")]
)
async def test_enquiry_answers_follow_the_certificate(
    simulator: RunningSimulator,
    callback_receiver: CallbackReceiver,
    kind: str | None,
    status: str,
) -> None:
    number = (
        find(SEED, "acca", kind).certificate_number  # type: ignore[arg-type]
        if kind
        else unknown_certificate_number("acca")
    )
    fields = {
        "reference": f"REQ-{status}",
        "certificate_number": number,
        "holder_name": "王芳",
        "reply_to_url": callback_receiver.url,
    }
    await send(simulator, enquiry_mail("acca", fields, as_attachment=True))
    async with asyncio.timeout(5):
        await callback_receiver.wait_for(1)
    answer = verified_answer(*callback_receiver.received[0])
    assert (answer["reference"], answer["status"]) == (f"REQ-{status}", status)
    assert (answer["registered_name"] is None) == (kind is None)


async def test_failed_callbacks_are_retried(
    simulator: RunningSimulator, http: httpx.AsyncClient, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.failures_left = 2
    cert = find(SEED, "rics", "authentic")
    fields = text_fields(
        "REQ-retry", cert.certificate_number, cert.claimed_name, callback_receiver.url
    )
    await send(simulator, enquiry_mail("rics", fields))
    async with asyncio.timeout(5):
        await callback_receiver.wait_for(1)
    record = next(
        item
        for item in (await http.get("/enquiries/rics")).json()["items"]
        if item["reference"] == "REQ-retry"
    )
    assert record["delivery_attempts"] == 3 and record["state"] == "answered"


async def test_undeliverable_answers_are_marked_failed(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    fields = text_fields("REQ-lost", "X-1", "Anna Smith", "http://127.0.0.1:9/nowhere")
    await send(simulator, enquiry_mail("lost-body", fields))
    async with asyncio.timeout(5):
        while True:
            items = (await http.get("/enquiries/lost-body")).json()["items"]
            if items and items[0]["state"] != "waiting":
                break
            await asyncio.sleep(0.05)
    assert items[0]["state"] == "delivery_failed"
    assert items[0]["delivery_attempts"] == 3


async def test_incomplete_enquiry_is_refused(simulator: RunningSimulator) -> None:
    fields = {"Reference": "REQ-x", "Reply-To-URL": "http://127.0.0.1:1/cb"}
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await send(simulator, enquiry_mail("cfa", fields))
    assert refused.value.code == 550
    assert "certificate_number" in refused.value.message


async def test_unknown_mailbox_is_refused(simulator: RunningSimulator) -> None:
    message = enquiry_mail("cfa", text_fields("R", "N", "H", "http://x.test/cb"))
    message.replace_header("To", "someone@cfa.bodies.test")
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(simulator, message)


async def test_mailbox_defers_mail_during_an_outage(
    simulator: RunningSimulator, http: httpx.AsyncClient
) -> None:
    await set_faults(http, "mail-down", outage=True)
    message = enquiry_mail("mail-down", text_fields("R", "N", "H", "http://x.test/cb"))
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(simulator, message)
    assert refused.value.recipients[0].code == 451


def test_recipient_addresses_name_the_body() -> None:
    assert body_of_recipient("verify@aws.bodies.test") == "aws"
    assert body_of_recipient("<Verify@PMI.Bodies.Test>") == "pmi"
    assert body_of_recipient("verify@aws.example.com") is None
    assert body_of_recipient("info@aws.bodies.test") is None
    assert body_of_recipient("verify@a.b.bodies.test") is None


def test_json_body_and_bad_urls() -> None:
    document = {
        "reference": "R",
        "certificate_number": "N",
        "holder_name": "H",
        "reply_to_url": "http://x.test/cb",
    }
    message = EmailMessage()
    message.set_content(json.dumps(document))
    assert parse_enquiry(message.as_bytes()).reference == "R"
    message = EmailMessage()
    message.set_content(json.dumps({**document, "reply_to_url": "ftp://x.test/cb"}))
    with pytest.raises(InvalidEnquiryError, match="reply_to_url"):
        parse_enquiry(message.as_bytes())
    message = EmailMessage()
    message.set_content("{not json")
    with pytest.raises(InvalidEnquiryError, match="not valid JSON"):
        parse_enquiry(message.as_bytes())
