"""The platform's consumption rules, in one FastStream middleware around every subscriber:

- only records signed by their topic's owner and decodable as a known event reach a handler;
  any other record is parked on `<topic>.dlq`, with the reason;
- idempotency by event id: the batch's event ids are claimed in the same PostgreSQL
  transaction the handler stores its effects in (`Inbox.conn`), so an event redelivered after
  a crash finds its id taken and is skipped: each effect happens once;
- transient failures (PostgreSQL or Kafka away) are retried without limit, with backoff;
- a batch that keeps failing for any other reason is split, each event tried alone, and the
  events that still fail (poison) are parked on `<topic>.dlq` with the reason;
- offsets are committed (`AckPolicy.MANUAL`) only after all of that: never before the effect.
"""

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypeAlias
from uuid import UUID

from aiokafka import ConsumerRecord, TopicPartition
from faststream import BaseMiddleware, Context

from services.contracts.events import Event, UnknownEvent, decode
from services.contracts.topics import TopicSpec, dead_letter_of
from services.runtime.db import Connection
from services.runtime.event_auth import (
    EVENTS_UNAUTHENTICATED,
    SIGNATURE_HEADERS,
    TrustedProducers,
    UnauthenticatedEvent,
)
from services.runtime.observability import (
    CONSUMER_LAG,
    ERRORS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
)
from services.runtime.resilience import TRANSIENT_ERRORS, describe

log = logging.getLogger(__name__)

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
UNAUTHENTICATED = "unauthenticated-producer"
INBOX = "inbox"


@dataclass
class Inbox:
    """What a handler gets beside its events: the transaction to store their effects in, each
    event's trace context, and work to start once that transaction has committed."""

    conn: Connection
    traceparents: dict[UUID, str | None]
    _after_commit: list[Callable[[], object]] = field(default_factory=list)

    def traceparent(self, event: Event) -> str | None:
        return self.traceparents.get(event.event_id)

    def after_commit(self, callback: Callable[[], object]) -> None:
        """`callback` runs once the batch's effects are committed (never if they are not)."""
        self._after_commit.append(callback)


InboxArg = Annotated[Inbox, Context(INBOX)]


class InboxStore(Protocol):
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Connection]: ...

    async def claim(self, conn: Connection, event_ids: Sequence[UUID]) -> set[UUID]:
        """The ids not consumed before, now taken inside `conn`'s transaction."""
        ...


class PostgresInbox:
    """Consumed event ids in the service's own schema, pruned once no topic can hold them."""

    CREATE = (
        "CREATE TABLE IF NOT EXISTS consumed_events ("
        " event_id uuid PRIMARY KEY, consumed_at timestamptz NOT NULL DEFAULT now())"
    )
    CLAIM = (
        "INSERT INTO consumed_events (event_id) SELECT unnest($1::uuid[]) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    PRUNE = "DELETE FROM consumed_events WHERE consumed_at < now() - make_interval(days => $1)"

    def __init__(self, pool: Any, keep_days: int = 35, prune_every_seconds: float = 3600.0):
        self._pool = pool
        self._keep_days = keep_days  # longer than any topic (or dead-letter topic) keeps events
        self._prune_every = prune_every_seconds
        self._pruned_at = 0.0
        self._created = False

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        if not self._created:  # committed on its own: a batch that rolls back keeps the table
            await self._pool.execute(self.CREATE)
            self._created = True
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def claim(self, conn: Connection, event_ids: Sequence[UUID]) -> set[UUID]:
        # On the batch's own connection, not a second one taken from the pool while this one
        # is held; a rolled-back batch leaves the pruning to the next.
        if time.monotonic() - self._pruned_at > self._prune_every:
            self._pruned_at = time.monotonic()
            await conn.execute(self.PRUNE, self._keep_days)
        return {row["event_id"] for row in await conn.fetch(self.CLAIM, list(event_ids))}


@dataclass(frozen=True)
class _Consumed:
    record: Record
    event: Event


class ReliableConsumption:
    """The broker middleware (pass it to `new_broker`); `group` names the service's consumer
    group on the records it dead-letters."""

    def __init__(
        self,
        *,
        group: str,
        trusted: TrustedProducers,
        inbox: InboxStore,
        topics: Sequence[TopicSpec],
        max_attempts: int = 3,
        backoff: tuple[float, float] = (0.2, 5.0),
    ) -> None:
        self.group = group
        self.trusted = trusted
        self.inbox = inbox
        self.topics = {t.name: t for t in topics}
        self.max_attempts = max_attempts
        self.backoff = backoff

    def __call__(self, msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _Reliable(msg, context=context, rules=self)


class _Reliable(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, rules: ReliableConsumption) -> None:
        super().__init__(msg, context=context)
        self.rules = rules

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        raw = msg.raw_message
        # A batch: a tuple from aiokafka, a list from FastStream's TestKafkaBroker.
        records: tuple[Record, ...] = tuple(raw) if isinstance(raw, tuple | list) else (raw,)
        consumed = [c for c in [await self._authentic(r) for r in records] if c is not None]
        if consumed and await self._attempt(call_next, msg, consumed) is not None:
            for one in consumed:  # isolate the poison event from its batch
                failure = await self._attempt(call_next, msg, [one])
                if failure is not None:
                    await self._dead_letter(one.record, "handler kept failing", failure)
        await msg.ack()
        self._record_lag(msg, records)
        return None

    async def _authentic(self, record: Record) -> _Consumed | None:
        EVENTS_CONSUMED.labels(record.topic).inc()
        try:
            self.rules.trusted.authenticate(record.topic, record.key, record.value, record.headers)
            if record.value is None:
                raise ValueError("empty record")
            return _Consumed(record, decode(record.value, dict(record.headers)))
        except UnauthenticatedEvent as error:
            EVENTS_UNAUTHENTICATED.labels(record.topic, error.kind).inc()
            await self._dead_letter(record, UNAUTHENTICATED, error)
        except (UnknownEvent, ValueError) as error:
            await self._dead_letter(record, f"undecodable: {error}", error)
        return None

    async def _attempt(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: Any, batch: list[_Consumed]
    ) -> Exception | None:
        """None once the batch's effects are stored, else the last non-transient error."""
        delay, most = self.rules.backoff
        attempts = 0
        while True:
            try:
                await self._store(call_next, msg, batch)
                return None
            except TRANSIENT_ERRORS as error:
                ERRORS.labels("consumer_transient").inc()
                log.warning("transient failure, retrying", extra={"error": describe(error)})
            except Exception as error:
                attempts += 1
                ERRORS.labels("consumer_handler").inc()
                # No traceback: its last line is the error's text, which may carry personal data.
                log.error("handler failed", extra={"attempt": attempts, "error": describe(error)})
                if attempts >= self.rules.max_attempts:
                    return error
            await asyncio.sleep(delay)
            delay = min(delay * 2, most)

    async def _store(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: Any, batch: list[_Consumed]
    ) -> None:
        unique = {c.event.event_id: c for c in batch}
        async with self.rules.inbox.transaction() as conn:
            new = await self.rules.inbox.claim(conn, list(unique))
            if not new:
                return
            fresh = [c for c in unique.values() if c.event.event_id in new]
            inbox = Inbox(conn, {c.event.event_id: _traceparent(c.record) for c in fresh})
            with self.context.scope(INBOX, inbox):
                await call_next(_with_events(msg, fresh))
        for callback in inbox._after_commit:
            callback()

    async def _dead_letter(self, record: Record, reason: str, error: Exception) -> None:
        """Parks the record as it arrived, signed by this service, saying who parked it, why
        and where from; its original signature is kept under `source-` names."""
        source = self.rules.topics.get(record.topic)
        topic = dead_letter_of(source).name if source else f"{record.topic}.dlq"
        headers = {
            (f"source-{name}" if name in SIGNATURE_HEADERS else name): content.decode(
                errors="replace"
            )
            for name, content in record.headers
        }
        headers |= {
            "dead-letter-reason": reason,
            "dead-letter-group": self.rules.group,
            "dead-letter-error": type(error).__name__,
            "source-topic": record.topic,
            "source-offset": f"{record.partition}:{record.offset}",
        }
        broker = self.context.get("broker")
        delay, most = self.rules.backoff
        while True:
            try:
                await broker.publish(record.value, topic, key=record.key, headers=headers)
                break
            except TRANSIENT_ERRORS as failure:  # never commit past a record not yet parked
                log.warning("dead-lettering failed, retrying", extra={"error": describe(failure)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, most)
        EVENTS_DEAD_LETTERED.labels(record.topic).inc()
        log.error(  # never the payload or the error text: either may carry personal data
            "record dead-lettered",
            extra={
                "topic": record.topic,
                "offset": f"{record.partition}:{record.offset}",
                "reason": reason.split(":", 1)[0],
                "error_class": type(error).__name__,
                "group": self.rules.group,
            },
        )

    @staticmethod
    def _record_lag(msg: Any, records: Sequence[Record]) -> None:
        consumer = getattr(msg, "consumer", None)
        highwater = getattr(consumer, "highwater", None)
        if highwater is None:
            return
        last: dict[TopicPartition, int] = {}
        for record in records:
            last[TopicPartition(record.topic, record.partition)] = record.offset
        for tp, offset in last.items():
            high = highwater(tp)
            if high is not None:
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(high - offset - 1, 0))


def _traceparent(record: Record) -> str | None:
    for name, value in record.headers:
        if name == "traceparent":
            return bytes(value).decode()
    return None


def _with_events(msg: Any, batch: list[_Consumed]) -> Any:
    """The message as the handler sees it: only `batch`'s records, already decoded."""
    subset = copy.copy(msg)
    subset.raw_message = tuple(c.record for c in batch)
    subset.body = [c.event for c in batch]
    return subset
