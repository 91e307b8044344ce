"""The console's verifier adapter against a real verifier: its operator routes served over
HTTP on a free port, with the verifier's own request flow on real PostgreSQL and the
awarding-body simulator. An enquiry is parked, listed, answered through the adapter, and the
request decided; refusals and an absent verifier become bilingual domain errors."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import grpc
import httpx
import pytest
from starlette.applications import Starlette

from deploy.local.processes import free_port
from services.console.adapters.verifier import UNEXPECTED, VerifierOps
from services.console.domain.bodies import (
    AnswerStatus,
    BreakerState,
    EnquiryAnswer,
    EnquiryNotFound,
    VerifierRefused,
    VerifierUnavailable,
)
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.runtime.lifecycle import http_server
from services.verifier.api.enquiries import enquiry_routes
from services.verifier.api.operations import operator_routes
from services.verifier.channels.config import ChannelType
from services.verifier.channels.contact import BodyContacts, Channel
from services.verifier.channels.enquiry import EnquiryChannel
from services.verifier.events.requests import RequestVerifier
from services.verifier.registry_client import RegistryClient
from services.verifier.store.open_enquiries import OpenEnquiryReader
from services.verifier.store.repository import MIGRATIONS, VerifierStore
from simulator.population import find
from simulator.server import RunningSimulator, start_simulator
from tests.verifier.support import (
    OPERATOR_TOKEN,
    SEED,
    channel_book,
    request_for,
    set_faults,
    simulator_settings,
)

pytestmark = pytest.mark.integration

BODY = "ops-telephone"


@dataclass
class RunningVerifier:
    url: str
    verifier: RequestVerifier
    pool: asyncpg.Pool
    simulator: RunningSimulator


@pytest.fixture(scope="module")
async def running(module_database: str) -> AsyncIterator[RunningVerifier]:
    simulator = await start_simulator(simulator_settings())
    pool = await create_pool(module_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    port = free_port()
    channels: dict[ChannelType, Channel] = {
        ChannelType.ASYNC_ENQUIRY: EnquiryChannel(
            "127.0.0.1", simulator.smtp_port, f"http://127.0.0.1:{port}", "verify@test.local"
        )
    }
    contacts = BodyContacts(channel_book({BODY: "async_enquiry"}), simulator.base_url, channels)
    # Nothing here is authentic, so the registry is never called; an unused port proves it.
    registry = RegistryClient("127.0.0.1:9", grpc.ssl_channel_credentials(), timeout_seconds=1)
    verifier = RequestVerifier(contacts, registry, VerifierStore(pool), owner="ops-test")
    app = Starlette(
        routes=[
            *enquiry_routes(verifier.answer_arrived, "callback-secret", OPERATOR_TOKEN),
            *operator_routes(
                contacts, OpenEnquiryReader(pool), OPERATOR_TOKEN, instance="ops-test"
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
        await registry.close()
        await pool.close()
        await simulator.stop()


@contextlib.asynccontextmanager
async def ops_for(url: str, token: str = OPERATOR_TOKEN) -> AsyncIterator[VerifierOps]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        yield VerifierOps(client, token)


async def test_an_enquiry_parked_is_listed_answered_and_its_request_decided(
    running: RunningVerifier,
) -> None:
    await set_faults(running.simulator.base_url, BODY, enquiry_delay_days=1000)
    cert = find(SEED, BODY)
    request = request_for([BODY], cert.certificate_number, cert.claimed_name)
    await running.verifier.take_on([(request, None)])
    await running.verifier.drain()  # the e-mail went out and the request is parked
    reference = f"{request.request_id}.{BODY}"
    async with ops_for(running.url) as ops:
        report = await ops.bodies()
        [body] = [b for b in report.bodies if b.body_id == BODY]
        assert body.channel == "async_enquiry" and body.breaker.state is BreakerState.CLOSED
        assert body.open_enquiries == 1 and body.next_due_at is not None
        assert body.attempts == 1 and body.failed_attempts == 0  # the e-mail was sent

        listed = await ops.open_enquiries(body_id=BODY)
        assert listed.total == 1
        [enquiry] = listed.items
        assert (enquiry.reference, enquiry.request_id) == (reference, request.request_id)
        assert not enquiry.overdue(enquiry.sent_at)

        await ops.answer(reference, EnquiryAnswer(AnswerStatus.REVOKED))
        await running.verifier.drain()
        verdict = await running.pool.fetchval(
            "SELECT verdict FROM verdicts WHERE request_id = $1", request.request_id
        )
        assert verdict == "not_authentic"
        assert (await ops.open_enquiries()).total == 0
        [after] = [b for b in (await ops.bodies()).bodies if b.body_id == BODY]
        assert after.answers_kept == 1 and after.open_enquiries == 0


async def test_an_unknown_enquiry_is_not_found_in_both_languages(
    running: RunningVerifier,
) -> None:
    async with ops_for(running.url) as ops:
        for reference in ("00000000-0000-0000-0000-000000000000.ops-telephone", "not-a-ref"):
            with pytest.raises(EnquiryNotFound) as raised:
                await ops.answer(reference, EnquiryAnswer(AnswerStatus.NOT_FOUND))
            assert raised.value.message.en == "Unknown enquiry"
            assert raised.value.message.zh == "查询不存在"


async def test_a_wrong_operator_token_is_a_configuration_fault(running: RunningVerifier) -> None:
    async with ops_for(running.url, token="not-the-token") as ops:
        with pytest.raises(VerifierRefused) as raised:
            await ops.bodies()
        assert "CONSOLE_VERIFIER_OPERATOR_TOKEN" in raised.value.message.en
        with pytest.raises(VerifierRefused):
            await ops.answer("any.body", EnquiryAnswer(AnswerStatus.EXPIRED))


async def test_an_absent_verifier_is_unavailable_not_an_error_page() -> None:
    async with ops_for(f"http://127.0.0.1:{free_port()}") as ops:
        with pytest.raises(VerifierUnavailable) as raised:
            await ops.open_enquiries()
        assert raised.value.message.zh == "核验服务暂无响应，请稍后再试"


async def test_something_that_is_not_the_verifier_is_not_understood(
    running: RunningVerifier,
) -> None:
    async with ops_for(running.simulator.base_url) as ops:  # a live server, but another one
        with pytest.raises(VerifierUnavailable) as raised:
            await ops.bodies()
        assert raised.value.message == UNEXPECTED
