"""What operators did with parked records: one replay or discard per record, never two."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.console.domain.dead_letters import ActionKind, DeadLetterAction

_SQL = Path(__file__).parent / "sql" / "dead_letters"
_CLAIM = (_SQL / "claim_action.sql").read_text()
_ACTION_OF = (_SQL / "action_of.sql").read_text()
_ACTIONS_ON = (_SQL / "actions_on.sql").read_text()


@dataclass(frozen=True)
class RecordKey:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


class AlreadyHandled(Exception):
    """The record was replayed or discarded before; `action` says which, by whom and when."""

    def __init__(self, key: RecordKey, action: DeadLetterAction) -> None:
        super().__init__(f"{key} was already {action.kind.value}")
        self.key = key
        self.action = action


class DeadLetterActions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @contextlib.asynccontextmanager
    async def claim(
        self, key: RecordKey, kind: ActionKind, actor: str, reason: str | None
    ) -> AsyncIterator[None]:
        """Records the action for the duration of the block, committed only if the block
        succeeds (a replay whose send failed can be tried again). Raises AlreadyHandled if the
        record has an action already, or one is being recorded concurrently (it waits)."""
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await conn.fetchval(
                _CLAIM, key.topic, key.partition, key.offset, kind.value, actor, reason
            )
            if claimed is None:
                existing = await conn.fetchrow(_ACTION_OF, key.topic, key.partition, key.offset)
                assert existing is not None  # the conflict was on this very row
                raise AlreadyHandled(key, _action(existing))
            yield

    async def action_of(self, key: RecordKey) -> DeadLetterAction | None:
        row = await self._pool.fetchrow(_ACTION_OF, key.topic, key.partition, key.offset)
        return _action(row) if row else None

    async def actions_on(
        self, topic: str, first_offset: int, last_offset: int
    ) -> dict[tuple[int, int], DeadLetterAction]:
        """The actions on a topic's records in an offset range, by (partition, offset)."""
        rows = await self._pool.fetch(_ACTIONS_ON, topic, first_offset, last_offset)
        return {(r["partition"], r["offset"]): _action(r) for r in rows}


def _action(row: asyncpg.Record) -> DeadLetterAction:
    return DeadLetterAction(ActionKind(row["action"]), row["actor"], row["reason"], row["acted_at"])
