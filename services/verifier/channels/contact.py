"""Contacting awarding bodies: every body of a certificate in parallel, each within its own
concurrency limit, with retries and an overall deadline per body."""

import asyncio
import logging
import time
from typing import Protocol

from services.contracts.events import VerificationRequested
from services.verifier.channels.config import BodyChannel, ChannelBook, ChannelType
from services.verifier.channels.errors import RateLimited, TransientChannelError
from services.verifier.domain.retries import backoff_delay
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer: ...


class BodyContacts:
    def __init__(
        self, book: ChannelBook, bodies_base_url: str, channels: dict[ChannelType, Channel]
    ) -> None:
        self._book = book
        self._base_url = bodies_base_url
        self._channels = channels
        self._limits: dict[str, asyncio.Semaphore] = {}

    def channel_of(self, body_id: str) -> BodyChannel:
        return self._book.channel_of(body_id, self._base_url)

    async def ask_all(self, request: VerificationRequested) -> list[BodyAnswer]:
        """Ask every awarding body at once; the slowest decides how long this takes."""
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self.ask(body, request)) for body in request.body_ids]
        return [task.result() for task in tasks]

    async def ask(self, body_id: str, request: VerificationRequested) -> BodyAnswer:
        config = self.channel_of(body_id)
        channel = self._channels.get(config.type)
        if channel is None:
            return BodyAnswer(
                body_id, config.type, BodyStatus.UNREACHABLE, detail="channel not available"
            )
        try:
            async with asyncio.timeout(config.deadline_seconds):
                return await self._ask_with_retries(body_id, config, channel, request)
        except TimeoutError:
            return BodyAnswer(
                body_id, config.type, BodyStatus.UNREACHABLE, detail="deadline passed"
            )

    async def _ask_with_retries(
        self,
        body_id: str,
        config: BodyChannel,
        channel: Channel,
        request: VerificationRequested,
    ) -> BodyAnswer:
        limit = self._limits.setdefault(body_id, asyncio.Semaphore(config.concurrency))
        for attempt in range(1, config.max_attempts + 1):
            retry_after: float | None = None
            try:
                async with limit:
                    started = time.perf_counter()
                    answer = await channel.query(body_id, config, request)
                    log.debug(
                        "body answered",
                        extra={"body": body_id, "ms": (time.perf_counter() - started) * 1000},
                    )
                    return answer
            except RateLimited as error:
                retry_after = error.retry_after_seconds
                detail = str(error)
            except TransientChannelError as error:
                detail = str(error)
            if attempt < config.max_attempts:
                await asyncio.sleep(backoff_delay(attempt, retry_after))
        return BodyAnswer(body_id, config.type, BodyStatus.UNREACHABLE, detail=detail)
