"""Sends one account e-mail over the same SMTP path as notification e-mails. The address and the
link arrive sealed and are opened here, at the moment of sending, and nowhere else; neither is
logged. The Message-ID derives from the mail id, so a mail sent again (the notifier died
between sending and recording it) is recognisably the same mail."""

from uuid import UUID

from services.notifier.delivery.email import EmailTransport
from services.notifier.delivery.transport import Failure
from services.notifier.domain.account_mail import QueuedAccountMail, account_email_of
from services.notifier.store.repository import DueDelivery
from services.runtime.secret_box import (
    SecretBox,
    SecretBoxError,
    mail_link_binding,
    mail_recipient_binding,
)


class AccountEmailTransport:
    def __init__(self, smtp: EmailTransport, box: SecretBox) -> None:
        self._smtp = smtp
        self._box = box

    async def send(self, delivery: DueDelivery) -> Failure | None:
        mail = QueuedAccountMail.from_payload(delivery.payload)
        try:
            recipient, link = self._opened(delivery, mail)
        except SecretBoxError:  # sealed under another key: retrying cannot open it
            return Failure("sealed address or link does not open", final=True)
        text = account_email_of(mail, link)
        return await self._smtp.deliver(self._smtp.compose(recipient, text, mail.mail_id))

    def _opened(self, delivery: DueDelivery, mail: QueuedAccountMail) -> tuple[str, str | None]:
        employer_id = delivery.employer_id
        mail_id = UUID(mail.mail_id)
        recipient = self._box.unseal(delivery.url, employer_id, mail_recipient_binding(mail_id))
        if mail.sealed_link is None:
            return recipient, None
        return recipient, self._box.unseal(
            mail.sealed_link, employer_id, mail_link_binding(mail_id)
        )
