"""Account e-mail, asked of the notifier through the outbox: written in the caller's
transaction, so a mail goes out exactly when the change it reports is committed. The address
and the link are sealed (services/runtime/secret_box.py); Kafka never carries either in clear."""

from uuid import UUID, uuid4

from services.contracts.events import AccountMail, AccountMailRequested, LocalizedText
from services.runtime.db import Connection
from services.runtime.outbox import write_outbox
from services.runtime.secret_box import SecretBox, mail_link_binding, mail_recipient_binding


async def request_mail(
    conn: Connection,
    box: SecretBox,
    *,
    employer_id: UUID,
    kind: AccountMail,
    organisation: str,
    recipient: str,
    link: str | None = None,
    note: LocalizedText | None = None,
    link_valid_hours: float | None = None,
) -> UUID:
    """`link_valid_hours`: how long the link stays valid (INTAKE_EMAIL_LINK_HOURS), told in the
    mail; without it the mail says only that the link expires."""
    mail_id = uuid4()
    event = AccountMailRequested(
        mail_id=mail_id,
        employer_id=employer_id,
        kind=kind,
        organisation=organisation,
        sealed_recipient=box.seal(recipient, employer_id, mail_recipient_binding(mail_id)),
        sealed_link=(
            None if link is None else box.seal(link, employer_id, mail_link_binding(mail_id))
        ),
        note=note,
        link_valid_hours=link_valid_hours,
    )
    await write_outbox(conn, [event])
    return mail_id
