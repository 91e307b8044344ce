"""Reading the platform's mail catcher (deploy/local/mail_catcher.py) as a person reads their
inbox: wait for the mail to arrive, open it, follow its link."""

import asyncio
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage

import httpx

from tests.e2e.conftest import RunningPlatform

LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class CaughtMail:
    subject: str
    to: str
    body: str

    def link_to(self, base_url: str) -> str:
        """The link in the mail that leads to `base_url` (the employer pages): the same one
        in the Chinese text and the English."""
        links = {str(link) for link in LINK.findall(self.body) if link.startswith(base_url)}
        assert len(links) == 1, f"expected one link to {base_url} in:\n{self.body}"
        return links.pop()


def mail_catcher_url(platform: RunningPlatform) -> str:
    return f"http://127.0.0.1:{platform.platform.ports.mail_http}"


async def next_mail(
    platform: RunningPlatform, to: str, subject: str, timeout: float = 60.0
) -> CaughtMail:
    """The newest mail to `to` whose subject contains `subject`, waiting for it to arrive
    (polled until the deadline: it travels intake → Kafka → notifier → SMTP)."""
    async with httpx.AsyncClient(base_url=mail_catcher_url(platform)) as client:
        async with asyncio.timeout(timeout):
            while True:
                listing = (await client.get("/")).raise_for_status().json()["messages"]
                for summary in listing:  # newest first
                    if to.lower() in summary["to"].lower() and subject in summary["subject"]:
                        raw = (await client.get(summary["url"])).raise_for_status().content
                        return _parsed(raw)
                await asyncio.sleep(0.25)


def _parsed(raw: bytes) -> CaughtMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the mail has no text part"
    return CaughtMail(str(message["Subject"]), str(message["To"]), part.get_content())
