"""A real verifier for the console's tests: its operator routes served over HTTP on a free port,
with its own request flow (in-process) on real PostgreSQL and the awarding-body simulator, so
an enquiry can be parked, listed and answered as in production."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from starlette.applications import Starlette

from deploy.local.processes import free_port
from services.contracts.events import VerificationRequested
from services.reference.channels import ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.lifecycle import http_server
from services.verifier.api.enquiries import enquiry_routes
from services.verifier.api.operations import operator_routes
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.enquiry import EnquiryChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.store.open_enquiries import OpenEnquiryReader
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from services.verifier.verifying import RequestVerifier
from simulator.population import CertificateKind, find
from simulator.server import RunningSimulator, start_simulator
from tests.verifier.support import (
    OPERATOR_TOKEN,
    SEED,
    channel_book,
    request_for,
    set_faults,
    simulator_settings,
)

TELEPHONE_BODY = "ops-telephone"  # answers by e-mail, slowly: operators telephone it
API_BODY = "ops-api"
DOWN_BODY = "ops-down"  # a credential API the tests may take down (simulator faults)


@dataclass
class RunningVerifier:
    url: str
    verifier: RequestVerifier
    pool: asyncpg.Pool
    simulator: RunningSimulator

    async def park_enquiry(self) -> tuple[str, UUID]:
        """A request to the telephone body, parked until someone answers; its reference."""
        cert = find(SEED, TELEPHONE_BODY)
        request = request_for([TELEPHONE_BODY], cert.certificate_number, cert.claimed_name)
        await self.verify(request)
        return f"{request.request_id}.{TELEPHONE_BODY}", request.request_id

    async def verify_by_api(
        self, body_id: str = API_BODY, kind: CertificateKind = "revoked"
    ) -> UUID:
        """A request to a credential-API body, answered at once."""
        cert = find(SEED, body_id, kind)
        request = request_for([body_id], cert.certificate_number, cert.claimed_name)
        await self.verify(request)
        return request.request_id

    async def verify(self, request: VerificationRequested) -> None:
        """As the verifier's subscriber does: taken on in a transaction, worked on after it."""
        async with self.pool.acquire() as conn, conn.transaction():
            start = await self.verifier.take_on(conn, [(request, None)])
        start()
        await self.verifier.drain()

    async def verdict_of(self, request_id: UUID) -> str | None:
        await self.verifier.drain()
        verdict: str | None = await self.pool.fetchval(
            "SELECT verdict FROM verdicts WHERE request_id = $1", request_id
        )
        return verdict


@contextlib.asynccontextmanager
async def serving_verifier(database_url: str) -> AsyncIterator[RunningVerifier]:
    simulator = await start_simulator(simulator_settings())
    await set_faults(simulator.base_url, TELEPHONE_BODY, enquiry_delay_days=1000)
    pool = await create_pool(database_url, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    port = free_port()
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients()),
        ChannelType.ASYNC_ENQUIRY: EnquiryChannel(
            "127.0.0.1", simulator.smtp_port, f"http://127.0.0.1:{port}", "verify@test.local"
        ),
    }
    book = channel_book(
        {TELEPHONE_BODY: "async_enquiry", API_BODY: "credential_api", DOWN_BODY: "credential_api"},
        failure_threshold=2,
        max_attempts=2,
        open_seconds=600,
    )
    contacts = BodyContacts(book, simulator.base_url, channels, backoff_base=0.01)
    verifier = RequestVerifier(contacts, VerifierStore(pool), owner="ops-test")
    app = Starlette(
        routes=[
            *enquiry_routes(verifier.answer_arrived, "callback-secret", OPERATOR_TOKEN),
            *operator_routes(
                contacts,
                OpenEnquiryReader(pool),
                OPERATOR_TOKEN,
                instance="ops-test",
                body_names={TELEPHONE_BODY: "Telephone Board 电话委员会"},
            ),
        ]
    )
    server = http_server(app, "127.0.0.1", port)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield RunningVerifier(f"http://127.0.0.1:{port}", verifier, pool, simulator)
    finally:
        server.should_exit = True
        await serving
        await pool.close()
        await simulator.stop()
