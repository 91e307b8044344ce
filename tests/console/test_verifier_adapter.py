"""The console's verifier adapter against a real verifier: its operator routes served over
HTTP on a free port, with the verifier's own request flow on real PostgreSQL and the
awarding-body simulator. An enquiry is parked, listed, answered through the adapter, and the
request decided; refusals and an absent verifier become bilingual domain errors."""

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

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
from tests.console.verifier_support import TELEPHONE_BODY, RunningVerifier, serving_verifier
from tests.verifier.support import OPERATOR_TOKEN

pytestmark = pytest.mark.integration

BODY = TELEPHONE_BODY


@pytest.fixture(scope="module")
async def running(module_database: str) -> AsyncIterator[RunningVerifier]:
    async with serving_verifier(module_database) as verifier:
        yield verifier


@contextlib.asynccontextmanager
async def ops_for(url: str, token: str = OPERATOR_TOKEN) -> AsyncIterator[VerifierOps]:
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        yield VerifierOps(client, token)


async def test_an_enquiry_parked_is_listed_answered_and_its_request_decided(
    running: RunningVerifier,
) -> None:
    reference, request_id = await running.park_enquiry()
    async with ops_for(running.url) as ops:
        report = await ops.bodies()
        [body] = [b for b in report.bodies if b.body_id == BODY]
        assert body.channel == "async_enquiry" and body.breaker.state is BreakerState.CLOSED
        assert body.open_enquiries == 1 and body.next_due_at is not None
        assert body.attempts == 1 and body.failed_attempts == 0  # the e-mail was sent

        listed = await ops.open_enquiries(body_id=BODY)
        assert listed.total == 1
        [enquiry] = listed.items
        assert (enquiry.reference, enquiry.request_id) == (reference, request_id)
        assert not enquiry.overdue(enquiry.sent_at)

        await ops.answer(reference, EnquiryAnswer(AnswerStatus.REVOKED))
        assert await running.verdict_of(request_id) == "not_authentic"
        assert (await ops.open_enquiries()).total == 0
        [after] = [b for b in (await ops.bodies()).bodies if b.body_id == BODY]
        assert after.answers_kept == 1 and after.open_enquiries == 0


async def test_an_unknown_enquiry_is_not_found_in_both_languages(
    running: RunningVerifier,
) -> None:
    async with ops_for(running.url) as ops:
        for reference in (f"00000000-0000-0000-0000-000000000000.{BODY}", "not-a-ref"):
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
