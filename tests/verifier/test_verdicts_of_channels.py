"""Verdicts from the answers only some channels give: a forged signature, a pending enquiry."""

from services.contracts.events import CheckOutcome, Verdict
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus, decide

HOLDER = "Zhang Wei"


def test_an_invalid_signature_is_not_authentic_and_says_so_first() -> None:
    forged = BodyAnswer(
        "vc",
        "signed_credential",
        BodyStatus.SIGNATURE_INVALID,
        detail="the signature does not match",
    )
    expired = BodyAnswer("api", "credential_api", BodyStatus.EXPIRED)
    decision = decide([expired, forged], HOLDER)
    assert decision.verdict == Verdict.NOT_AUTHENTIC
    assert "signature" in decision.reason.en and decision.reason.zh
    failed = {c.body_id: c.reason for c in decision.checks if c.outcome == CheckOutcome.FAILED}
    assert failed == {
        "api": "expired",
        "vc": "signature_invalid: the signature does not match",
    }


def test_a_pending_enquiry_is_never_authentic() -> None:
    pending = BodyAnswer("mail", "async_enquiry", BodyStatus.PENDING, detail="ref")
    confirmed = BodyAnswer("api", "credential_api", BodyStatus.CONFIRMED, registered_name=HOLDER)
    decision = decide([confirmed, pending], HOLDER)
    assert decision.verdict == Verdict.UNABLE_TO_VERIFY
    [unchecked] = [c for c in decision.checks if c.outcome == CheckOutcome.COULD_NOT_CHECK]
    assert unchecked.body_id == "mail" and "awaiting" in unchecked.reason
