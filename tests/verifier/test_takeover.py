"""Taking over abandoned work, in-process on real PostgreSQL and the simulator: a request whose
verifier died is finished by the sweeper; one that keeps failing is given up, not retried for
ever; a request taken on twice is worked on once."""

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from services.contracts.events import VerificationRequested
from services.reference.channels import ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from services.verifier.verifying import RequestVerifier
from simulator.population import find
from simulator.server import RunningSimulator
from tests.verifier.support import SEED, channel_book, request_for

BODY = "take-api"


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


def verifier_for(pool: asyncpg.Pool, simulator: RunningSimulator, owner: str) -> RequestVerifier:
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    contacts = BodyContacts(channel_book({BODY: "credential_api"}), simulator.base_url, channels)
    return RequestVerifier(
        contacts, VerifierStore(pool), owner=owner, lease_seconds=1, max_takeovers=2
    )


async def claim(pool: asyncpg.Pool, request: VerificationRequested, owner: str) -> None:
    """`owner` takes the request on and dies before working on it."""
    async with pool.acquire() as conn:
        await VerifierStore.take_on(conn, [(request, None)], owner, 1)


async def take_on(
    pool: asyncpg.Pool, verifier: RequestVerifier, request: VerificationRequested
) -> None:
    """As the consumer does: claimed in a transaction, started once it has committed."""
    async with pool.acquire() as conn, conn.transaction():
        start = await verifier.take_on(conn, [(request, None)])
    start()


async def expire_leases(pool: asyncpg.Pool, takeovers: int = 0) -> None:
    await pool.execute(
        "UPDATE work SET lease_until = now() - interval '1 second', takeovers = $1", takeovers
    )


async def verdict_of(pool: asyncpg.Pool, request_id: UUID) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM verdicts WHERE request_id = $1", request_id)


async def test_a_dead_verifiers_request_is_taken_over_and_finished(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY, "revoked")
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    # "dead" claims the request and dies before working on it.
    await claim(pool, request, "dead")
    assert await verdict_of(pool, request.request_id) is None
    verifier = verifier_for(pool, simulator, "alive")
    assert await verifier.sweep() == 0  # the lease has not expired yet
    await expire_leases(pool)
    assert await verifier.sweep() == 1
    await verifier.drain()
    verdict = await verdict_of(pool, request.request_id)
    assert verdict is not None and verdict["verdict"] == "not_authentic"
    work = await pool.fetchrow("SELECT owner, state, takeovers FROM work")
    assert work is not None and dict(work) == {"owner": "alive", "state": "decided", "takeovers": 1}
    assert await verifier.sweep() == 0  # decided work is never taken again


async def test_a_request_that_keeps_failing_is_given_up(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY)
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    await claim(pool, request, "dead")
    await expire_leases(pool, takeovers=2)
    verifier = verifier_for(pool, simulator, "alive")
    assert await verifier.sweep() == 1
    await verifier.drain()
    verdict = await verdict_of(pool, request.request_id)
    assert verdict is not None and verdict["verdict"] == "unable_to_verify"
    assert "gave up" in verdict["checks"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1  # its VerdictReached


async def test_a_request_consumed_twice_is_taken_on_once(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY, "expired")
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    verifier = verifier_for(pool, simulator, "alive")
    await take_on(pool, verifier, request)
    await take_on(pool, verifier, request)  # published again while in flight
    await verifier.drain()
    await take_on(pool, verifier, request)  # published again after the verdict
    await verifier.drain()
    assert await pool.fetchval("SELECT count(*) FROM verdicts") == 1
    assert await pool.fetchval("SELECT count(*) FROM evidence") == 1
    topics = [row["topic"] for row in await pool.fetch("SELECT topic FROM outbox ORDER BY id")]
    assert topics == ["verification.verdicts.v1"]  # one VerdictReached; no progress event


async def test_a_claim_rolled_back_starts_no_work(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    cert = find(SEED, BODY, "revoked")
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    verifier = verifier_for(pool, simulator, "alive")
    with pytest.raises(ConnectionError):
        async with pool.acquire() as conn, conn.transaction():
            await verifier.take_on(conn, [(request, None)])
            raise ConnectionError("the consumer's transaction failed")
    assert verifier.in_flight == 0
    assert await pool.fetchval("SELECT count(*) FROM work") == 0
    await take_on(pool, verifier, request)  # redelivered: taken on now
    await verifier.drain()
    verdict = await verdict_of(pool, request.request_id)
    assert verdict is not None and verdict["verdict"] == "not_authentic"
