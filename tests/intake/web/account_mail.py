"""Account e-mail as the in-process web tests see it: the `AccountMailRequested` events intake
wrote to its outbox (no relay runs here), opened with the mail box as the notifier would."""

import json
from dataclasses import dataclass
from uuid import UUID

from services.contracts.events import AccountMail, AccountMailRequested, decode
from services.contracts.topics import EMPLOYER_MAIL
from services.intake.web.deps import WebDeps
from services.runtime.secret_box import mail_link_binding, mail_recipient_binding


@dataclass(frozen=True)
class Mail:
    kind: AccountMail
    employer_id: UUID
    organisation: str
    recipient: str
    link: str | None


async def mails_to(deps: WebDeps, recipient: str) -> list[Mail]:
    """Every account mail intake asked to be sent to `recipient`, oldest first."""
    rows = await deps.store._pool.fetch(
        "SELECT value, headers FROM outbox WHERE topic = $1 ORDER BY id", EMPLOYER_MAIL.name
    )
    found = []
    for row in rows:
        raw = row["headers"]
        pairs = json.loads(raw) if isinstance(raw, str) else raw
        headers = {k: v.encode() for k, v in pairs}
        event = decode(row["value"], headers)
        assert isinstance(event, AccountMailRequested)
        mail = _opened(deps, event)
        if mail.recipient == recipient.lower():
            found.append(mail)
    return found


async def last_link(deps: WebDeps, recipient: str, kind: AccountMail) -> str:
    links = [m.link for m in await mails_to(deps, recipient) if m.kind is kind and m.link]
    assert links, f"no {kind} mail to {recipient}"
    return links[-1]


def _opened(deps: WebDeps, event: AccountMailRequested) -> Mail:
    box, employer = deps.mail_box, event.employer_id
    recipient = box.unseal(event.sealed_recipient, employer, mail_recipient_binding(event.mail_id))
    link = None
    if event.sealed_link is not None:
        link = box.unseal(event.sealed_link, employer, mail_link_binding(event.mail_id))
    return Mail(event.kind, employer, event.organisation, recipient, link)
