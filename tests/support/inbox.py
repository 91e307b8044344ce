"""An in-memory `InboxStore` for unit tests of subscribers (with FastStream's
`TestKafkaBroker`): claims event ids like `PostgresInbox`, with no database. Handlers that
write through `inbox.conn` need the real one."""

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID


class MemoryInbox:
    def __init__(self, conn: Any = None) -> None:
        self.conn = conn
        self.consumed: set[UUID] = set()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        claimed_before = set(self.consumed)
        try:
            yield self.conn
        except BaseException:
            self.consumed = claimed_before  # rolled back with the handler's effects
            raise

    async def claim(self, conn: Any, event_ids: Sequence[UUID]) -> set[UUID]:
        new = set(event_ids) - self.consumed
        self.consumed |= new
        return new
