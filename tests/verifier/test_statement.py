"""The registry's signed statement travels with an authentic verdict: the verifier, in-process
on real PostgreSQL and the simulator, asks a real registry (mutual TLS) for the code and puts
the statement it answers into `VerdictReached.statement`, verifiable with the published keys."""

import base64
from collections.abc import AsyncIterator

import asyncpg
import httpx
import orjson
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from services.contracts.events import Verdict, VerdictReached, decode
from services.reference.channels import ChannelType
from services.registry.api.app import RunningRegistry, running_registry
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.events.requests import RequestVerifier
from services.verifier.registry_client import RegistryClient, mutual_tls_credentials
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from simulator.population import find
from simulator.server import RunningSimulator
from tests.infra import Infra
from tests.registry.support import registry_settings, session_pki
from tests.verifier.support import SEED, channel_book, request_for, write_test_edition

pytestmark = pytest.mark.integration

BODY = "stmt-api"
QUALIFICATION = "stmt-qualification"


@pytest.fixture(scope="module")
async def registry(
    infra: Infra, module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningRegistry]:
    edition = write_test_edition(
        tmp_path_factory.mktemp("edition") / "edition.json", QUALIFICATION, [BODY]
    )
    settings = registry_settings(infra, module_database, catalogue_file=edition)
    async with running_registry(settings) as running:
        yield running


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(fresh_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


@pytest.fixture
async def client(registry: RunningRegistry) -> AsyncIterator[RegistryClient]:
    client = RegistryClient(registry.grpc_address, mutual_tls_credentials(session_pki()))
    yield client
    await client.close()


def verifier_for(
    pool: asyncpg.Pool, simulator: RunningSimulator, client: RegistryClient
) -> RequestVerifier:
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    contacts = BodyContacts(channel_book({BODY: "credential_api"}), simulator.base_url, channels)
    return RequestVerifier(contacts, client, VerifierStore(pool), owner="statement-test")


async def published_verdict(pool: asyncpg.Pool) -> VerdictReached:
    rows = await pool.fetch("SELECT value, headers FROM outbox ORDER BY id")
    verdicts = [
        event
        for row in rows
        if isinstance(
            event := decode(
                bytes(row["value"]),
                {k: v.encode() for k, v in orjson.loads(row["headers"])},
            ),
            VerdictReached,
        )
    ]
    assert len(verdicts) == 1
    return verdicts[0]


async def published_keys(registry: RunningRegistry) -> KeySet:
    async with httpx.AsyncClient(base_url=registry.public_url) as http:
        answer = await http.get("/.well-known/jwks.json")
    answer.raise_for_status()
    return KeySet.import_key_set(answer.json())


async def test_an_authentic_verdict_carries_the_registrys_signed_statement(
    pool: asyncpg.Pool,
    simulator: RunningSimulator,
    client: RegistryClient,
    registry: RunningRegistry,
) -> None:
    cert = find(SEED, BODY)
    request = request_for(
        [BODY], cert.certificate_number, cert.claimed_name, qualification_id=QUALIFICATION
    )
    verifier = verifier_for(pool, simulator, client)
    await verifier.take_on([(request, None)])
    await verifier.drain()

    verdict = await published_verdict(pool)
    assert verdict.verdict == Verdict.AUTHENTIC and verdict.statement
    verified = jws.deserialize_compact(
        verdict.statement, await published_keys(registry), algorithms=["Ed25519"]
    )
    assert verified.headers()["typ"] == "vc+jwt"
    subject = orjson.loads(verified.payload)["credentialSubject"]
    assert subject["verificationCode"] == verdict.verification_code
    assert subject["qualificationId"] == QUALIFICATION
    assert subject["holderNameMasked"] != cert.claimed_name
    assert (
        cert.certificate_number
        not in base64.urlsafe_b64decode(verdict.statement.split(".")[1] + "==").decode()
    )


async def test_asking_again_gives_the_same_code_and_statement(
    pool: asyncpg.Pool, simulator: RunningSimulator, client: RegistryClient
) -> None:
    """A verifier that dies after the registry answered asks again on takeover: the statement
    it publishes then is the one first signed."""
    cert = find(SEED, BODY)
    request = request_for(
        [BODY], cert.certificate_number, cert.claimed_name, qualification_id=QUALIFICATION
    )
    verifier = verifier_for(pool, simulator, client)
    await verifier.take_on([(request, None)])
    await verifier.drain()
    verdict = await published_verdict(pool)
    again = await client.issue_code(request, verdict.decided_at)
    assert (again.code, again.statement) == (verdict.verification_code, verdict.statement)


async def test_a_verdict_that_is_not_authentic_carries_no_statement(
    pool: asyncpg.Pool, simulator: RunningSimulator, client: RegistryClient
) -> None:
    cert = find(SEED, BODY, "revoked")
    request = request_for(
        [BODY], cert.certificate_number, cert.claimed_name, qualification_id=QUALIFICATION
    )
    verifier = verifier_for(pool, simulator, client)
    await verifier.take_on([(request, None)])
    await verifier.drain()
    verdict = await published_verdict(pool)
    assert verdict.verdict == Verdict.NOT_AUTHENTIC
    assert verdict.verification_code is None and verdict.statement is None
