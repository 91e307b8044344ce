"""What the verifier tells the registry: in-process on real PostgreSQL and the simulator, a
verdict goes out through the outbox as `VerdictReached` (schema 2), with no code (the registry
issues it from this event) and the holder's name only when authentic (the registry masks it on
the code's record); nothing else carries the name."""

from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest

from services.contracts.events import Verdict, VerdictReached, decode
from services.reference.channels import ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from services.verifier.verifying import RequestVerifier
from simulator.population import CertificateKind, find
from simulator.server import RunningSimulator
from tests.verifier.support import SEED, channel_book, request_for

BODY = "verdict-api"


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


async def verdict_for(
    pool: asyncpg.Pool, simulator: RunningSimulator, kind: CertificateKind
) -> tuple[VerdictReached, dict[str, str], str]:
    """The one event the verifier published about a certificate of `kind`, its headers, and
    the name claimed."""
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    contacts = BodyContacts(channel_book({BODY: "credential_api"}), simulator.base_url, channels)
    verifier = RequestVerifier(contacts, VerifierStore(pool), owner="verdict-test")
    cert = find(SEED, BODY, kind)
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    async with pool.acquire() as conn, conn.transaction():
        start = await verifier.take_on(conn, [(request, "00-" + "1" * 32 + "-" + "2" * 16 + "-01")])
    start()
    await verifier.drain()
    [row] = await pool.fetch("SELECT topic, value, headers FROM outbox")
    assert row["topic"] == VerdictReached.topic.name
    headers: dict[str, str] = dict(orjson.loads(row["headers"]))
    event = decode(bytes(row["value"]), {k: v.encode() for k, v in headers.items()})
    assert isinstance(event, VerdictReached) and event.request_id == request.request_id
    return event, headers, cert.claimed_name


async def test_an_authentic_verdict_carries_the_name_and_no_code(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    verdict, headers, name = await verdict_for(pool, simulator, "authentic")
    assert verdict.verdict == Verdict.AUTHENTIC
    assert verdict.holder_name == name
    assert headers["schema-version"] == "2"
    assert "verification_code" not in verdict.model_dump() and "statement" not in headers
    # The trace goes on from the request's, as a child span.
    assert headers["traceparent"].startswith("00-" + "1" * 32 + "-")
    assert [c.body_id for c in verdict.contacts] == [BODY]
    row = await pool.fetchrow("SELECT * FROM verdicts WHERE request_id = $1", verdict.request_id)
    assert row is not None and "verification_code" not in dict(row)


@pytest.mark.parametrize("kind", ["revoked", "expired"])
async def test_a_verdict_that_is_not_authentic_carries_no_name(
    pool: asyncpg.Pool, simulator: RunningSimulator, kind: CertificateKind
) -> None:
    verdict, _, name = await verdict_for(pool, simulator, kind)
    assert verdict.verdict == Verdict.NOT_AUTHENTIC
    assert verdict.holder_name is None
    assert name not in verdict.model_dump_json()
