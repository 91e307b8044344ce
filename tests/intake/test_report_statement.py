"""Intake keeps the registry's signed statement of an authentic verdict with the request, once:
a redelivered or later verdict changes nothing, and no other employer reads it."""

import uuid

import pytest

from services.contracts.events import Verdict
from services.intake.applying import Applying
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.turnaround import TurnaroundPolicy
from services.intake.store.repository import IntakeStore
from tests.intake.report_support import signed_statement, submitted, verdict_for
from tests.intake.support import consume, credit_code, write_channels

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def applying(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Applying:
    channels = ChannelDirectory.load(write_channels(tmp_path_factory.mktemp("channels")))
    return Applying(store, EditionCatalogue.load(), channels, b"test-key", TurnaroundPolicy())


async def test_an_authentic_verdicts_statement_is_kept_once(
    store: IntakeStore, applying: Applying
) -> None:
    employer_id, _ = await store.create_employer(credit_code(8101), "Statement Ltd.")
    record = await submitted(store, applying, employer_id, "STMT-1")
    first = signed_statement(
        record.id, record.qualification_id, record.body_ids, "ZHANG Wei", record.accepted_at
    )
    verdict = verdict_for(record, Verdict.AUTHENTIC, first)
    await consume(store, verdict, verdict)  # a redelivery in the same batch
    assert await store.statement(employer_id, record.id) == first.statement

    # A later verdict on the decided request (another event) leaves the first in place.
    other = signed_statement(
        record.id, record.qualification_id, record.body_ids, "ZHANG Wei", record.accepted_at
    )
    await consume(store, verdict_for(record, Verdict.AUTHENTIC, other))
    assert await store.statement(employer_id, record.id) == first.statement
    decided = await store.get(employer_id, record.id)
    assert decided is not None and decided.verification_code == str(first.code)

    stranger, _ = await store.create_employer(credit_code(8102), "Stranger Ltd.")
    assert await store.statement(stranger, record.id) is None


async def test_a_verdict_that_is_not_authentic_keeps_no_statement(
    store: IntakeStore, applying: Applying
) -> None:
    employer_id, _ = await store.create_employer(credit_code(8103), "Refused Ltd.")
    record = await submitted(store, applying, employer_id, "STMT-2")
    await consume(store, verdict_for(record, Verdict.NOT_AUTHENTIC))
    assert await store.statement(employer_id, record.id) is None
    assert await store.statement(employer_id, uuid.uuid4()) is None
