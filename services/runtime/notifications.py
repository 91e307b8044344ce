"""PostgreSQL LISTEN/NOTIFY for a whole process, on one connection.

A writer announces a commit with `pg_notify(channel, payload)`; the notification is delivered
only if the transaction commits. A process registers what it needs before `run()`:

- `signal(channel)`: a `Signal` for loops that re-read a table when it changes (the outbox
  relay, the delivery sender, the outcome streams);
- `on(channel, callback, resync=...)`: for channels whose payload says what changed (the
  revocations that evict caches).

A LISTEN dies silently with its connection, and notifications sent meanwhile are lost: on
every (re)connect each signal fires once and each `resync` runs, so commits made while nobody
listened are picked up.
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from services.runtime.db import Connection
from services.runtime.resilience import DATABASE_UNREACHABLE

log = logging.getLogger(__name__)


class Signal:
    """Wakes waiters when something changed. Take `next_change()` before reading, then
    `wait` on it: a change committed in between is not missed."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def fire(self) -> None:
        """Wakes everyone waiting on the current change (also for changes made in-process)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def next_change(self) -> asyncio.Event:
        return self._changed

    @staticmethod
    async def wait(changed: asyncio.Event, at_most: float) -> bool:
        """Whether `changed` was set within `at_most` seconds (the poll that covers a lost
        LISTEN connection until it is back)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await changed.wait()
        return changed.is_set()


Callback = Callable[[str], None]


@dataclass(frozen=True)
class _Subscriber:
    callback: Callback
    resync: Callable[[], None]
    own_schema: bool


@dataclass(frozen=True)
class _Waiter:
    signal: Signal
    own_schema: bool


class Notifications:
    """Every channel this process listens on, on one connection of `pool`.

    `own_schema=True`: the writer's payload is `current_schema()`, or
    `current_schema() || ':' || detail`, because several services may share one database (and
    so one channel name); only this pool's schema counts, and a callback receives the detail.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._waiters: defaultdict[str, list[_Waiter]] = defaultdict(list)
        self._subscribers: defaultdict[str, list[_Subscriber]] = defaultdict(list)
        self._schema: str | None = None  # known while listening
        self._listening = False

    def signal(self, channel: str, *, own_schema: bool = False) -> Signal:
        self._register(channel)
        signal = Signal()
        self._waiters[channel].append(_Waiter(signal, own_schema))
        return signal

    def on(
        self,
        channel: str,
        callback: Callback,
        *,
        resync: Callable[[], None],
        own_schema: bool = False,
    ) -> None:
        """`callback(payload)` for each notification; `resync()` on each (re)connect, as
        notifications may have been missed."""
        self._register(channel)
        self._subscribers[channel].append(_Subscriber(callback, resync, own_schema))

    def _register(self, channel: str) -> None:
        if self._listening and channel not in self.channels:
            raise RuntimeError(f"channel {channel!r} registered after listening began")

    @property
    def is_listening(self) -> bool:
        return self._listening

    @property
    def channels(self) -> set[str]:
        return set(self._waiters) | set(self._subscribers)

    async def run(self) -> None:
        """Listens until the connection is lost, then raises (run it under `keep_running`)."""
        async with self._pool.acquire() as conn:
            lost = asyncio.Event()

            def on_close(_: object) -> None:
                lost.set()

            conn.add_termination_listener(on_close)
            channels = sorted(self.channels)
            try:
                self._schema = await conn.fetchval("SELECT current_schema()")
                for channel in channels:
                    await conn.add_listener(channel, self._on_notify)
                self._listening = True
                self._caught_up()
                await lost.wait()
                raise asyncpg.ConnectionDoesNotExistError("the LISTEN connection was closed")
            finally:
                self._listening = False
                if not lost.is_set():  # a lost connection's proxy refuses every call
                    await _unlisten(conn, channels, self._on_notify, on_close)

    def _caught_up(self) -> None:
        """Commits made while nobody listened: every signal fires, every subscriber resyncs."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.signal.fire()
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.resync()

    def _on_notify(self, _conn: object, _pid: int, channel: str, payload: object) -> None:
        text = str(payload)
        schema, _, detail = text.partition(":")
        ours = schema == self._schema
        for waiter in self._waiters.get(channel, []):
            if ours or not waiter.own_schema:
                waiter.signal.fire()
        for subscriber in self._subscribers.get(channel, []):
            if not subscriber.own_schema:
                subscriber.callback(text)
            elif ours:
                subscriber.callback(detail)


async def _unlisten(
    conn: Connection,
    channels: list[str],
    on_notify: Callable[[object, int, str, object], None],
    on_close: Callable[[object], None],
) -> None:
    with contextlib.suppress(*DATABASE_UNREACHABLE):
        conn.remove_termination_listener(on_close)
        for channel in channels:
            await conn.remove_listener(channel, on_notify)
