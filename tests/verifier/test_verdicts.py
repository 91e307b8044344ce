"""From the awarding bodies' answers to one verdict. Fail closed: never authentic by default."""

import pytest

from services.contracts.events import CheckOutcome, CheckResult, Verdict
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus, decide

HOLDER = "Zhang Wei"


def confirmed(body_id: str, name: str = "ZHANG Wei") -> BodyAnswer:
    return BodyAnswer(body_id, "credential_api", BodyStatus.CONFIRMED, registered_name=name)


def answer(body_id: str, status: BodyStatus, detail: str = "") -> BodyAnswer:
    return BodyAnswer(body_id, "public_register", status, detail=detail)


def outcomes(checks: list[CheckResult]) -> list[tuple[str, str, CheckOutcome]]:
    return [(c.body_id, c.check, c.outcome) for c in checks]


def test_all_bodies_confirm_the_same_name_so_authentic() -> None:
    decision = decide([confirmed("a"), confirmed("b", "wei zhang")], HOLDER)
    assert decision.verdict == Verdict.AUTHENTIC
    assert decision.reason.zh and decision.reason.en
    assert outcomes(decision.checks) == [
        ("a", "record", CheckOutcome.PASSED),
        ("a", "name", CheckOutcome.PASSED),
        ("b", "record", CheckOutcome.PASSED),
        ("b", "name", CheckOutcome.PASSED),
    ]
    assert all(c.reason for c in decision.checks)
    assert "credential_api" in decision.checks[0].reason


@pytest.mark.parametrize(
    ("status", "reason_en"),
    [
        (BodyStatus.REVOKED, "revoked"),
        (BodyStatus.NOT_FOUND, "no record"),
        (BodyStatus.EXPIRED, "expired"),
    ],
)
def test_a_negative_answer_makes_it_not_authentic_with_its_reason(
    status: BodyStatus, reason_en: str
) -> None:
    decision = decide([answer("b", status)], HOLDER)
    assert decision.verdict == Verdict.NOT_AUTHENTIC
    assert reason_en in decision.reason.en
    assert decision.reason.zh
    failed = [c for c in decision.checks if c.outcome == CheckOutcome.FAILED]
    assert [(c.body_id, c.check, c.reason) for c in failed] == [("b", "record", status.value)]


def test_revocation_is_the_reason_given_first() -> None:
    answers = [answer("a", BodyStatus.EXPIRED), answer("b", BodyStatus.REVOKED)]
    assert "revoked" in decide(answers, HOLDER).reason.en


def test_an_unreachable_body_with_others_confirmed_is_unable_to_verify() -> None:
    answers = [confirmed("a"), answer("b", BodyStatus.UNREACHABLE, "deadline passed")]
    decision = decide(answers, HOLDER)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    unchecked = [c for c in decision.checks if c.outcome == CheckOutcome.COULD_NOT_CHECK]
    assert [(c.body_id, c.check, c.reason) for c in unchecked] == [
        ("b", "record", "deadline passed")
    ]


def test_an_unreachable_body_without_detail_still_says_why() -> None:
    decision = decide([answer("a", BodyStatus.UNREACHABLE)], HOLDER)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    assert decision.checks[0].reason


def test_a_negative_answer_beats_an_unreachable_body() -> None:
    answers = [answer("a", BodyStatus.UNREACHABLE), answer("b", BodyStatus.REVOKED)]
    assert decide(answers, HOLDER).verdict == Verdict.NOT_AUTHENTIC


def test_a_confirmation_without_a_name_cannot_be_authentic() -> None:
    nameless = BodyAnswer("a", "credential_api", BodyStatus.CONFIRMED)
    decision = decide([nameless], HOLDER)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    assert outcomes(decision.checks) == [
        ("a", "record", CheckOutcome.PASSED),
        ("a", "name", CheckOutcome.COULD_NOT_CHECK),
    ]


def test_no_answers_at_all_is_never_authentic() -> None:
    decision = decide([], HOLDER)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    assert decision.checks == []


def test_a_different_registered_name_is_not_authentic() -> None:
    decision = decide([confirmed("a"), confirmed("b", "Li Na")], HOLDER)
    assert decision.verdict == Verdict.NOT_AUTHENTIC
    assert "name" in decision.reason.en
    failed = [c for c in decision.checks if c.outcome == CheckOutcome.FAILED]
    assert [(c.body_id, c.check) for c in failed] == [("b", "name")]


def test_an_uncertain_name_needs_review() -> None:
    decision = decide([confirmed("a"), confirmed("b", "Zhangwei")], HOLDER)
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert "review" in decision.reason.en
    assert decision.checks[3].body_id == "b" and decision.checks[3].check == "name"
    assert "split" in decision.checks[3].reason


def test_an_uncertain_name_with_an_unreachable_body_is_unable_to_verify() -> None:
    answers = [confirmed("a", "Zhangwei"), answer("b", BodyStatus.UNREACHABLE)]
    assert decide(answers, HOLDER).verdict == Verdict.UNABLE_TO_VERIFY


@pytest.mark.parametrize(
    ("failing", "verdict"),
    [
        (answer("c", BodyStatus.NOT_FOUND), Verdict.NEEDS_REVIEW),  # the bodies disagree
        (answer("c", BodyStatus.REVOKED), Verdict.NOT_AUTHENTIC),
        (answer("c", BodyStatus.UNREACHABLE), Verdict.UNABLE_TO_VERIFY),
        (confirmed("c", "Wang Fang"), Verdict.NOT_AUTHENTIC),
        (confirmed("c", "Zhang Wei Ming"), Verdict.NEEDS_REVIEW),
    ],
)
def test_three_bodies_where_one_fails(failing: BodyAnswer, verdict: Verdict) -> None:
    for position in range(3):
        answers = [confirmed("a"), confirmed("b")]
        answers.insert(position, failing)
        decision = decide(answers, HOLDER)
        assert decision.verdict == verdict
        assert {c.body_id for c in decision.checks} == {"a", "b", "c"}
        not_passed = [c for c in decision.checks if c.outcome != CheckOutcome.PASSED]
        assert {c.body_id for c in not_passed} <= {"c"}


def test_bodies_that_disagree_need_review_with_the_reason() -> None:
    decision = decide([confirmed("a"), answer("b", BodyStatus.NOT_FOUND)], HOLDER)
    assert decision.verdict == Verdict.NEEDS_REVIEW
    assert "disagree" in decision.reason.en and decision.reason.zh


def test_every_body_without_a_record_is_not_authentic() -> None:
    answers = [answer("a", BodyStatus.NOT_FOUND), answer("b", BodyStatus.NOT_FOUND)]
    assert decide(answers, HOLDER).verdict == Verdict.NOT_AUTHENTIC
