"""Two verifier replicas on one PostgreSQL share what they know of an awarding body: its
declared concurrency holds across both, an open breaker opens in both, one probe goes for the
whole cluster, and a success closes it in both. Without PostgreSQL a breaker still works."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
import pytest

from deploy.local.processes import free_port
from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel, ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.notifications import Notifications
from services.verifier.channels.contact import BodyContacts
from services.verifier.channels.errors import TransientChannelError
from services.verifier.channels.limits import BodyLimits
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus
from services.verifier.store.breakers import SharedBreakers
from services.verifier.store.replicas import Replicas
from services.verifier.store.repository import MIGRATIONS
from tests.verifier.support import channel_book, request_for

BODY = "shared-body"
HEARTBEAT, TTL = 0.2, 1.0


@dataclass
class CountingBody:
    """An awarding body that counts the calls it has in flight, and can be down."""

    hold_seconds: float = 0.05
    down: bool = False
    in_flight: int = 0
    most_in_flight: int = 0
    calls: list[tuple[str, float, float]] = field(default_factory=list)  # who, start, end

    def channel(self, replica: str) -> "BodyChannelOf":
        return BodyChannelOf(self, replica)


@dataclass
class BodyChannelOf:
    body: CountingBody
    replica: str

    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer:
        body = self.body
        body.in_flight += 1
        body.most_in_flight = max(body.most_in_flight, body.in_flight)
        started = time.monotonic()
        try:
            await asyncio.sleep(body.hold_seconds)
            if body.down:
                raise TransientChannelError("the body is down")
            return BodyAnswer(body_id, channel.type, BodyStatus.CONFIRMED)
        finally:
            body.in_flight -= 1
            body.calls.append((self.replica, started, time.monotonic()))


@dataclass
class Replica:
    name: str
    contacts: BodyContacts
    limits: BodyLimits
    pool: asyncpg.Pool

    def ask(self) -> "asyncio.Task[BodyStatus]":
        async def one() -> BodyStatus:
            contacted = await self.contacts.ask(BODY, request_for([BODY], "N-1", "Li Lei"))
            return contacted.answer.status

        return asyncio.create_task(one())


@pytest.fixture
async def database(fresh_database: str) -> str:
    pool = await create_pool(fresh_database, "verifier", max_size=2)
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    await pool.close()
    return fresh_database


@contextlib.asynccontextmanager
async def replica(
    database: str, name: str, body: CountingBody, **channel: object
) -> AsyncIterator[Replica]:
    """One verifier's shared body state, its LISTEN and heartbeat running; stopped (as by a
    SIGKILL: its heartbeat left to expire) when the block ends."""
    pool = await create_pool(database, "verifier", max_size=4)
    roster = Replicas(pool, name, interval=HEARTBEAT, ttl=TTL)
    limits = BodyLimits(name, shared=True, heartbeat_seconds=HEARTBEAT)
    board = SharedBreakers(pool, name)
    book = channel_book({BODY: "credential_api"}, **channel)
    contacts = BodyContacts(
        book,
        "http://bodies.test",
        {ChannelType.CREDENTIAL_API: body.channel(name)},
        backoff_base=0.01,
        limits=limits,
        board=board,
    )
    limits.limiter(BODY, contacts.channel_of(BODY))
    notifications = Notifications(pool)
    board.follow(notifications, contacts.apply_shared)
    roster.follow(notifications)
    loops = [
        asyncio.create_task(notifications.run()),
        asyncio.create_task(board.run()),
        asyncio.create_task(roster.run(limits.set_live)),
    ]
    try:
        yield Replica(name, contacts, limits, pool)
    finally:
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await pool.close()


async def eventually(condition: object, seconds: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_bodys_concurrency_holds_across_two_replicas(database: str) -> None:
    body = CountingBody(hold_seconds=0.05)
    limits = {"concurrency": 4, "timeout_seconds": 0.5, "max_attempts": 1}
    async with replica(database, "verifier-a", body, **limits) as a:
        await eventually(lambda: a.limits.share(BODY) == 4)
        first = [a.ask() for _ in range(40)]
        await asyncio.sleep(0.2)  # A is busy at its whole share when B joins
        assert body.in_flight == 4
        async with replica(database, "verifier-b", body, **limits) as b:
            second = [b.ask() for _ in range(40)] + [a.ask() for _ in range(40)]
            await eventually(lambda: a.limits.share(BODY) == 2, seconds=1)
            statuses = await asyncio.gather(*first, *second)
            assert (a.limits.share(BODY), b.limits.share(BODY)) == (2, 2)
        # B died without a word: A takes the whole again once B's heartbeat expires.
        await eventually(lambda: a.limits.share(BODY) == 4, seconds=TTL + 3 * HEARTBEAT)
    assert statuses == [BodyStatus.CONFIRMED] * 120
    assert body.most_in_flight == 4
    assert {who for who, _, _ in body.calls} == {"verifier-a", "verifier-b"}


async def test_a_breaker_opens_probes_once_and_closes_across_replicas(database: str) -> None:
    body = CountingBody(hold_seconds=0.3, down=True)
    settings = {"failure_threshold": 2, "open_seconds": 1.0, "max_attempts": 1}
    settings |= {"timeout_seconds": 2.0, "deadline_seconds": 20}
    async with (
        replica(database, "verifier-a", body, **settings) as a,
        replica(database, "verifier-b", body, **settings) as b,
    ):
        assert list(await asyncio.gather(a.ask(), a.ask())) == [BodyStatus.UNREACHABLE] * 2
        assert a.contacts.breaker_of(BODY).is_open
        await eventually(lambda: b.contacts.breaker_of(BODY).is_open, seconds=2)

        body.down = False
        body.calls.clear()
        waiting = [r.ask() for r in (a, b, a, b, b, a)]
        assert await asyncio.gather(*waiting) == [BodyStatus.CONFIRMED] * 6
        assert not a.contacts.breaker_of(BODY).is_open
        assert not b.contacts.breaker_of(BODY).is_open

    probe, *others = sorted(body.calls, key=lambda call: call[1])
    assert others and all(start >= probe[2] for _, start, _ in others), body.calls
    assert await breaker_row(database) == (None, None)  # closed, no probe held


async def breaker_row(database: str) -> tuple[object, object]:
    conn = await asyncpg.connect(database)
    try:
        row = await conn.fetchrow(
            "SELECT open_until, probe_until FROM verifier.body_breakers WHERE body_id = $1", BODY
        )
    finally:
        await conn.close()
    assert row is not None
    return row["open_until"], row["probe_until"]


async def test_without_postgresql_a_breaker_works_alone() -> None:
    body = CountingBody(hold_seconds=0.01, down=True)
    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", min_size=0, timeout=1
    )
    assert pool is not None
    book = channel_book(
        {BODY: "credential_api"}, failure_threshold=2, open_seconds=0.5, max_attempts=1
    )
    contacts = BodyContacts(
        book,
        "http://bodies.test",
        {ChannelType.CREDENTIAL_API: body.channel("alone")},
        limits=BodyLimits("alone", shared=False),
        board=SharedBreakers(pool, "alone"),
    )
    request = request_for([BODY], "N-1", "Li Lei")
    try:
        for _ in range(2):
            assert (await contacts.ask(BODY, request)).answer.status is BodyStatus.UNREACHABLE
        assert contacts.breaker_of(BODY).is_open
        body.down = False
        answer = await contacts.ask(BODY, request)  # waits out the open period, then probes
        assert answer.answer.status is BodyStatus.CONFIRMED
        assert not contacts.breaker_of(BODY).is_open
    finally:
        await pool.close()
