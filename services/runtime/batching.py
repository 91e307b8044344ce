"""Group commit: callers each await their own item's durable write, and items that arrive
while a write is in flight are written together by the next one.

No timer and no added latency when idle: under load, one round trip stores many items.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupCommit(Generic[Item, Result]):
    """`write` stores a batch of items at once and returns one result per item, in order."""

    def __init__(
        self,
        write: Callable[[list[Item]], Awaitable[list[Result]]],
        max_batch: int = 500,
        linger: float = 0.0,
    ) -> None:
        """`linger`: seconds a write waits for more items after the first one arrives, so that a
        steady stream is written in fewer, larger batches (each costs its own round trip and
        commit); 0 writes at once."""
        self._write = write
        self._max_batch = max_batch
        self._linger = linger
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        """Returns `item`'s result once it is written; raises what the write raised."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            # The writer is its own task: a caller that gives up (a deadline) cancels only
            # its own future, never the write the other callers wait for.
            self._writer = asyncio.create_task(self._write_pending())
        return await future

    async def _write_pending(self) -> None:
        if self._linger:
            await asyncio.sleep(self._linger)
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
