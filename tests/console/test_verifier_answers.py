"""The operator's answer to a parked enquiry as entered in the console's form, and how the
verifier adapter reads answers it cannot use (over httpx's in-memory transport: the real
verifier is in test_verifier_adapter.py)."""

import json

import httpx
import pytest

from services.console.adapters.verifier import UNAVAILABLE, UNEXPECTED, VerifierOps
from services.console.domain.bodies import (
    AnswerStatus,
    Bilingual,
    EnquiryAnswer,
    InvalidAnswer,
    VerifierUnavailable,
    enquiry_answer,
)


def test_an_answer_is_one_of_the_statuses_the_verifier_accepts() -> None:
    assert enquiry_answer("revoked", "  ") == EnquiryAnswer(AnswerStatus.REVOKED, None)
    assert enquiry_answer("confirmed", " Kenji Nguyen ") == EnquiryAnswer(
        AnswerStatus.CONFIRMED, "Kenji Nguyen"
    )
    with pytest.raises(InvalidAnswer) as raised:
        enquiry_answer("maybe", None)
    assert "confirmed, not found, revoked or expired" in raised.value.message.en
    assert "确认" in raised.value.message.zh


@pytest.mark.parametrize(
    ("name", "fragment"),
    [(None, "needs the name"), ("x" * 201, "at most 200"), ("Kenji\x00", "printable")],
)
def test_a_confirmation_needs_a_sensible_registered_name(name: str | None, fragment: str) -> None:
    with pytest.raises(InvalidAnswer) as raised:
        enquiry_answer("confirmed", name)
    assert fragment in raised.value.message.en and raised.value.message.zh


def answering(status: int, body: bytes) -> VerifierOps:
    transport = httpx.MockTransport(lambda _: httpx.Response(status, content=body))
    return VerifierOps(httpx.AsyncClient(transport=transport, base_url="http://v"), "t")


async def test_an_answer_of_the_wrong_shape_is_not_understood() -> None:
    with pytest.raises(VerifierUnavailable) as raised:
        await answering(200, b'{"bodies": "none"}').bodies()
    assert raised.value.message == UNEXPECTED


async def test_a_server_error_is_unavailable() -> None:
    with pytest.raises(VerifierUnavailable) as raised:
        await answering(503, b"{}").open_enquiries()
    assert raised.value.message == UNAVAILABLE


async def test_a_refused_answer_carries_the_verifiers_own_message() -> None:
    problem = json.dumps({"message": {"en": "Malformed answer", "zh": "答复格式错误"}}).encode()
    with pytest.raises(InvalidAnswer) as raised:
        await answering(400, problem).answer("r.b", EnquiryAnswer(AnswerStatus.EXPIRED))
    assert raised.value.message == Bilingual(en="Malformed answer", zh="答复格式错误")
