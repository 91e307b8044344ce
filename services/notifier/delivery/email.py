"""Sends one notification as a bilingual plain-text e-mail over SMTP.

The Message-ID derives from the delivery id, so a message sent twice (the notifier died
between sending and recording it) is recognisably the same message.
"""

from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.notifier.delivery.transport import Failure
from services.notifier.domain.messages import EmailText, email_of
from services.notifier.store.repository import DueDelivery


class EmailTransport:
    def __init__(self, host: str, port: int, sender: str, timeout_seconds: float = 10.0):
        self._host = host
        self._port = port
        self._sender = sender
        self._timeout = timeout_seconds

    async def send(self, delivery: DueDelivery) -> Failure | None:
        return await self.deliver(self.message(delivery))

    async def deliver(self, message: EmailMessage) -> Failure | None:
        """Hand one message to the mail server; a failure says only the error's class."""
        try:
            await aiosmtplib.send(
                message, hostname=self._host, port=self._port, timeout=self._timeout
            )
        except aiosmtplib.SMTPRecipientsRefused:
            return Failure("recipient refused", final=True)
        except (aiosmtplib.SMTPException, OSError) as error:
            return Failure(type(error).__name__)
        return None

    def message(self, delivery: DueDelivery) -> EmailMessage:
        text = email_of(delivery.payload)
        return self.compose(delivery.url.removeprefix("mailto:"), text, delivery.webhook_id)

    def compose(self, recipient: str, text: EmailText, message_key: str) -> EmailMessage:
        """A plain-text UTF-8 message whose Message-ID is `<message_key@sender's domain>`."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = recipient
        message["Subject"] = text.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{message_key}@{self._sender.rpartition('@')[2]}>"
        message.set_content(text.body, charset="utf-8")
        return message
