"""Eligibility rules of a verification request: each refusal, its code and its JSON pointer."""

from dataclasses import replace
from datetime import date

import pytest

from services.intake.domain.applications import (
    Application,
    Certificate,
    Holder,
    QualificationFacts,
    check_eligibility,
)
from services.intake.domain.errors import Refusal, RefusalCode

TODAY = date(2025, 6, 1)

ELECTRICIAN = QualificationFacts("Q-ELEC", ("body-a", "body-b"), withdrawn=False)
RETIRED = QualificationFacts("Q-OLD", ("body-a",), withdrawn=True)


class InMemoryCatalogue:
    def __init__(self, *entries: QualificationFacts) -> None:
        self._entries = {entry.id: entry for entry in entries}

    def facts(self, qualification_id: str) -> QualificationFacts | None:
        return self._entries.get(qualification_id)


CATALOGUE = InMemoryCatalogue(ELECTRICIAN, RETIRED)

ELIGIBLE = Application(
    qualification_id="Q-ELEC",
    body_ids=("body-b",),
    region="beijing",
    holder=Holder(
        name="Zhang Wei",
        name_zh="张伟",
        nationality="CN",
        document_type="resident_id",
        document_number="11010519491231002X",
    ),
    certificate=Certificate(
        number="C-1",
        issued_on=date(2020, 1, 1),
        expires_on=date(2030, 1, 1),
        channel_fields={},
    ),
    consent=True,
)


def refusal_of(application: Application) -> Refusal:
    with pytest.raises(Refusal) as caught:
        check_eligibility(application, CATALOGUE, TODAY)
    return caught.value


def pointers(refusal: Refusal) -> list[str]:
    return [problem.pointer for problem in refusal.problems]


def with_certificate(**changes: object) -> Application:
    return replace(ELIGIBLE, certificate=replace(ELIGIBLE.certificate, **changes))  # type: ignore[arg-type]


def test_an_eligible_application_returns_the_catalogue_facts() -> None:
    assert check_eligibility(ELIGIBLE, CATALOGUE, TODAY) == ELECTRICIAN


def test_no_listed_bodies_means_every_body_of_the_qualification() -> None:
    assert check_eligibility(replace(ELIGIBLE, body_ids=None), CATALOGUE, TODAY) == ELECTRICIAN


def test_passport_numbers_are_not_checked_as_resident_ids() -> None:
    holder = replace(ELIGIBLE.holder, document_type="passport", document_number="E12345678")
    assert check_eligibility(replace(ELIGIBLE, holder=holder), CATALOGUE, TODAY) == ELECTRICIAN


def test_refused_without_consent() -> None:
    refusal = refusal_of(replace(ELIGIBLE, consent=False))
    assert refusal.code == RefusalCode.CONSENT_REQUIRED
    assert pointers(refusal) == ["/consent"]


@pytest.mark.parametrize(
    "number", ["110105194912310021", "11010519491231002x", "1101051949123100", ""]
)
def test_refused_with_an_invalid_resident_id(number: str) -> None:
    holder = replace(ELIGIBLE.holder, document_number=number)
    refusal = refusal_of(replace(ELIGIBLE, holder=holder))
    assert refusal.code == RefusalCode.INVALID_FIELD
    assert pointers(refusal) == ["/holder/document_number"]


def test_refused_for_an_unknown_qualification() -> None:
    refusal = refusal_of(replace(ELIGIBLE, qualification_id="Q-NONE"))
    assert refusal.code == RefusalCode.UNKNOWN_QUALIFICATION
    assert pointers(refusal) == ["/qualification_id"]


def test_refused_for_a_withdrawn_qualification() -> None:
    refusal = refusal_of(replace(ELIGIBLE, qualification_id="Q-OLD", body_ids=None))
    assert refusal.code == RefusalCode.WITHDRAWN_QUALIFICATION
    assert pointers(refusal) == ["/qualification_id"]


def test_refused_when_a_listed_body_does_not_award_the_qualification() -> None:
    application = replace(ELIGIBLE, body_ids=("body-x", "body-a", "body-y"))
    refusal = refusal_of(application)
    assert refusal.code == RefusalCode.BODY_DOES_NOT_AWARD
    assert pointers(refusal) == ["/body_ids/0", "/body_ids/2"]


def test_refused_when_the_issue_date_is_in_the_future() -> None:
    refusal = refusal_of(with_certificate(issued_on=date(2025, 6, 2)))
    assert refusal.code == RefusalCode.DATE_IN_FUTURE
    assert pointers(refusal) == ["/certificate/issued_on"]


def test_refused_when_the_certificate_has_expired() -> None:
    refusal = refusal_of(with_certificate(expires_on=date(2025, 5, 31)))
    assert refusal.code == RefusalCode.CERTIFICATE_EXPIRED
    assert pointers(refusal) == ["/certificate/expires_on"]


def test_dates_on_the_boundary_are_accepted() -> None:
    issued_today = with_certificate(issued_on=TODAY)
    expiring_today = with_certificate(expires_on=TODAY)
    never_expiring = with_certificate(expires_on=None)
    for application in (issued_today, expiring_today, never_expiring):
        assert check_eligibility(application, CATALOGUE, TODAY) == ELECTRICIAN


def test_the_first_refusal_wins_in_a_fixed_order() -> None:
    everything_wrong = replace(
        ELIGIBLE,
        consent=False,
        qualification_id="Q-NONE",
        holder=replace(ELIGIBLE.holder, document_number="110105194912310021"),
    )
    assert refusal_of(everything_wrong).code == RefusalCode.CONSENT_REQUIRED
    assert refusal_of(replace(everything_wrong, consent=True)).code == RefusalCode.INVALID_FIELD


def test_every_refusal_has_bilingual_text() -> None:
    refusals = [
        refusal_of(replace(ELIGIBLE, consent=False)),
        refusal_of(replace(ELIGIBLE, qualification_id="Q-NONE")),
        refusal_of(with_certificate(expires_on=date(2000, 1, 1))),
    ]
    for refusal in refusals:
        assert refusal.title_zh and refusal.title_en
        assert all(p.detail_zh and p.detail_en for p in refusal.problems)
