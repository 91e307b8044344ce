"""What the registry makes of a verdict, without I/O: the code's record keeps the masked name
only, the employer side gets the code and statement, the regions no more than they need."""

import uuid
from datetime import UTC, datetime

import pytest

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Verdict,
    VerdictReached,
)
from services.reference.catalogue.loader import load_edition
from services.registry.domain.codes import generate_code
from services.registry.domain.concluding import concluded, issue_request_of, outcome_of
from services.registry.domain.errors import InvalidField, UnknownQualification
from services.registry.domain.issuing import ensure_awarded
from services.registry.domain.verifications import Region, Verification

DECIDED_AT = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


def authentic(**changes: object) -> VerdictReached:
    values: dict[str, object] = {
        "request_id": uuid.uuid4(),
        "employer_id": uuid.uuid4(),
        "region": "hebei",
        "qualification_id": "baft-a281b26c",
        "holder_ref": "hr-1",
        "verdict": Verdict.AUTHENTIC,
        "reason": LocalizedText(zh="证书真实", en="authentic"),
        "checks": [
            CheckResult(body_id=body, check=check, outcome=CheckOutcome.PASSED)
            for body, check in [("libf", "record"), ("libf", "name"), ("icc", "record")]
        ],
        "decided_at": DECIDED_AT,
        "holder_name": "ZHANG Wei",
    }
    return VerdictReached.model_validate(values | changes)


def test_the_codes_record_keeps_the_masked_name_and_the_bodies_asked() -> None:
    event = authentic()
    request = issue_request_of(event)
    assert request.holder_name == "Z**** W**"
    assert request.body_ids == ("libf", "icc")
    assert (request.request_id, request.region, request.verified_at) == (
        event.request_id,
        Region.HEBEI,
        DECIDED_AT,
    )
    assert request.employer_id == str(event.employer_id)


@pytest.mark.parametrize(
    ("changes", "field"), [({"holder_name": None}, "holder_name"), ({"checks": []}, "body_ids")]
)
def test_an_authentic_verdict_without_what_a_code_needs_is_refused(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidField) as refused:
        issue_request_of(authentic(**changes))
    assert refused.value.field == field


def test_the_catalogue_refuses_an_unknown_qualification_or_a_stranger_body() -> None:
    catalogue = load_edition()
    ensure_awarded(catalogue, issue_request_of(authentic()))
    with pytest.raises(UnknownQualification):
        ensure_awarded(catalogue, issue_request_of(authentic(qualification_id="no-such-q")))
    stranger = [CheckResult(body_id="acca", check="record", outcome=CheckOutcome.PASSED)]
    with pytest.raises(InvalidField):
        ensure_awarded(catalogue, issue_request_of(authentic(checks=stranger)))


def test_the_conclusion_carries_the_code_and_statement_and_no_name() -> None:
    event = authentic()
    request = issue_request_of(event)
    issued = Verification(
        request_id=request.request_id,
        code=generate_code(),
        qualification_id=request.qualification_id,
        body_ids=request.body_ids,
        holder_ref=request.holder_ref,
        holder_name=request.holder_name,
        region=request.region,
        employer_id=request.employer_id,
        verified_at=request.verified_at,
        created_at=DECIDED_AT,
        statement="header.claims.signature",
    )
    conclusion = concluded(event, issued)
    assert conclusion.verification_code == str(issued.code)
    assert conclusion.statement == "header.claims.signature"
    assert conclusion.event_id != event.event_id
    assert conclusion.model_dump(include={"request_id", "verdict", "checks", "reason"}) == (
        event.model_dump(include={"request_id", "verdict", "checks", "reason"})
    )
    assert "ZHANG" not in conclusion.model_dump_json()
    outcome = outcome_of(conclusion)
    assert (outcome.verification_code, outcome.holder_ref, outcome.region) == (
        str(issued.code),
        "hr-1",
        "hebei",
    )


def test_a_verdict_that_is_not_authentic_concludes_without_a_code() -> None:
    event = authentic(verdict=Verdict.NOT_AUTHENTIC, holder_name=None)
    conclusion = concluded(event, None)
    assert conclusion.verification_code is None and conclusion.statement is None
    assert outcome_of(conclusion).verification_code is None
