"""A real local SMTP server (aiosmtpd) for tests: what an employer's mailbox receives."""

import asyncio
import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from deploy.local.processes import free_port


@dataclass
class Mailbox:
    port: int
    loop: asyncio.AbstractEventLoop
    received: asyncio.Queue[EmailMessage] = field(default_factory=asyncio.Queue)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.loop.call_soon_threadsafe(self.received.put_nowait, message)
        return "250 OK"

    async def next(self, timeout: float = 30) -> EmailMessage:
        async with asyncio.timeout(timeout):
            return await self.received.get()


@contextmanager
def running_mailbox() -> Iterator[Mailbox]:
    mailbox = Mailbox(port=free_port(), loop=asyncio.get_running_loop())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
