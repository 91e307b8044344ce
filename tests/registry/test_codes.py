"""Unit tests of verification codes, name masking and issue-request validation (no I/O)."""

import random
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.registry.domain.codes import (
    CHECK_SYMBOLS,
    SYMBOLS,
    VerificationCode,
    generate_code,
    mask_name,
    parse_code,
)
from services.registry.domain.errors import (
    CheckCharacterMismatch,
    ErrorCode,
    InvalidField,
    MalformedCode,
    RequestConflict,
)
from services.registry.domain.verifications import (
    Region,
    Verification,
    ensure_same_verification,
    new_issue_request,
)

PRINTED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z*~$=U]$")


def _sample_codes(count: int, seed: int = 20250101) -> list[VerificationCode]:
    rng = random.Random(seed)
    edges = [VerificationCode(0), VerificationCode((1 << 80) - 1), VerificationCode(36)]
    return edges + [VerificationCode(rng.getrandbits(80)) for _ in range(count)]


def test_generated_codes_are_printed_in_four_groups_and_a_check_symbol() -> None:
    for _ in range(200):
        assert PRINTED.match(str(generate_code()))


def test_generated_codes_do_not_repeat() -> None:
    assert len({generate_code().value for _ in range(10_000)}) == 10_000


def test_generated_codes_use_all_80_bits() -> None:
    ored = 0
    for _ in range(500):
        ored |= generate_code().value
    assert ored == (1 << 80) - 1


@pytest.mark.parametrize("code", _sample_codes(300))
def test_round_trip_through_every_written_form(code: VerificationCode) -> None:
    printed = str(code)
    for written in (printed, printed.lower(), printed.replace("-", ""), printed.replace("-", " ")):
        assert parse_code(written) == code
    assert parse_code(f"  {printed}\n") == code
    assert code.compact == printed.replace("-", "")


def test_known_values_are_encoded_like_crockford() -> None:
    assert str(VerificationCode(0)) == "0000-0000-0000-0000-0"
    # 32**15 + 31 is "1", fourteen "0" and a "Z"; 32 ≡ -5 (mod 37), (-5)**15 ≡ 8, 8 + 31 ≡ 2.
    assert str(VerificationCode(32**15 + 31)) == "1000-0000-0000-000Z-2"
    # 1234 = 32 * 38 + 18 = 37 * 33 + 13
    assert str(VerificationCode(1234)) == "0000-0000-0000-016J-D"
    assert str(VerificationCode(31)) == "0000-0000-0000-000Z-Z"


def test_check_symbols_beyond_31_are_the_crockford_extras() -> None:
    assert [VerificationCode(v).check for v in range(32, 37)] == ["*", "~", "$", "=", "U"]
    assert parse_code(str(VerificationCode(36))).value == 36
    assert str(VerificationCode(36)).endswith("-U")


def test_crockford_substitutions_are_accepted() -> None:
    code = VerificationCode(int("1" * 16, 32))  # every symbol "1"
    typed = str(code).replace("1", "I")
    assert parse_code(typed) == code
    assert parse_code(str(code).replace("1", "l")) == code
    zero = VerificationCode(0)
    assert parse_code("oooo-OOOO-0000-0000-o") == zero


@pytest.mark.parametrize("code", _sample_codes(40, seed=7))
def test_every_single_symbol_substitution_is_caught(code: VerificationCode) -> None:
    compact = code.compact
    for position in range(17):
        alphabet = SYMBOLS if position < 16 else CHECK_SYMBOLS
        for symbol in alphabet:
            if symbol == compact[position]:
                continue
            typed = compact[:position] + symbol + compact[position + 1 :]
            with pytest.raises(CheckCharacterMismatch):
                parse_code(typed)


@pytest.mark.parametrize("code", _sample_codes(40, seed=11))
def test_every_adjacent_swap_is_caught(code: VerificationCode) -> None:
    compact = code.compact
    for position in range(15):
        a, b = compact[position], compact[position + 1]
        if a == b:
            continue
        typed = compact[:position] + b + a + compact[position + 2 :]
        with pytest.raises(CheckCharacterMismatch):
            parse_code(typed)


def test_mismatch_names_the_typed_check_character() -> None:
    code = VerificationCode(12345678901234567890)
    wrong = next(s for s in CHECK_SYMBOLS if s != code.check)
    with pytest.raises(CheckCharacterMismatch) as caught:
        parse_code(code.compact[:16] + wrong)
    assert f"check character '{wrong}'" in caught.value.message_en
    assert "校验字符" in caught.value.message_zh
    assert caught.value.code is ErrorCode.CHECK_CHARACTER_MISMATCH


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "got 0"),
        ("7K3M-Q9XD-2HVR-B8TW", "got 16"),
        ("7K3M-Q9XD-2HVR-B8TW-ZZ", "got 18"),
        ("7K3M-Q9XD-2HVR-B8TU-Z", "'U' at position 16"),
        ("7K3M-Q9XD-2H_R-B8TW-Z", "'_' at position 11"),
        ("7K3M-Q9XD-2HVR-B8TW-#", "'#' at position 17"),
        ("*K3M-Q9XD-2HVR-B8TW-Z", "'*' at position 1"),
        ("7K3M-Q9XD-2HVR-B8TW-Ｚ", "17 characters"),  # full-width letter
        ("ß" * 9, "17 characters"),  # upper() would turn it into valid-looking letters
        ("0" * 65, "17 characters"),
    ],
)
def test_malformed_codes_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(MalformedCode) as caught:
        parse_code(text)
    assert reason in caught.value.message_en
    assert caught.value.code is ErrorCode.MALFORMED_CODE


def test_a_code_holds_exactly_80_bits() -> None:
    with pytest.raises(ValueError):
        VerificationCode(1 << 80)
    with pytest.raises(ValueError):
        VerificationCode(-1)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("ZHANG Wei", "Z**** W**"),
        ("张伟", "张*"),
        ("欧阳娜娜", "欧***"),
        ("艾力·买买提", "艾*·买**"),
        ("Jean-Luc O'Neil", "J***-L** O'N***"),
        ("  Li  ", "L*"),
        ("A", "A"),
        ("", ""),
    ],
)
def test_names_are_masked_for_public_display(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "qualification_id": "int-001",
        "body_ids": ["acca"],
        "holder_ref": "ref-1",
        "holder_name": "ZHANG Wei",
        "region": "beijing",
        "employer_id": "911100000000000000",
        "verified_at": datetime(2025, 6, 1, 8, 0, tzinfo=UTC),
    }
    return fields | overrides


def test_a_complete_issue_request_is_accepted() -> None:
    request = new_issue_request(**_fields(region=" Hebei "))
    assert request.region is Region.HEBEI
    assert request.body_ids == ("acca",)


@pytest.mark.parametrize(
    ("overrides", "field", "detail"),
    [
        ({"request_id": "not-a-uuid"}, "request_id", "must be a UUID"),
        ({"request_id": ""}, "request_id", "is required"),
        ({"qualification_id": "  "}, "qualification_id", "is required"),
        ({"body_ids": []}, "body_ids", "at least one"),
        ({"body_ids": ["acca", ""]}, "body_ids", "is required"),
        ({"holder_ref": ""}, "holder_ref", "is required"),
        ({"holder_name": "x" * 201}, "holder_name", "longer than 200"),
        ({"holder_name": "ZHANG\x00Wei"}, "holder_name", "control characters"),
        ({"region": "shanghai"}, "region", "beijing, tianjin, hebei"),
        ({"employer_id": ""}, "employer_id", "is required"),
        ({"verified_at": None}, "verified_at", "is required"),
        ({"verified_at": datetime(2025, 6, 1)}, "verified_at", "time zone"),
    ],
)
def test_incomplete_issue_requests_name_the_field(
    overrides: dict[str, Any], field: str, detail: str
) -> None:
    with pytest.raises(InvalidField) as caught:
        new_issue_request(**_fields(**overrides))
    assert caught.value.field == field
    assert detail in caught.value.message_en


def test_a_retry_for_another_holder_is_a_conflict() -> None:
    request = new_issue_request(**_fields())
    recorded = Verification(
        request_id=request.request_id,
        code=generate_code(),
        qualification_id=request.qualification_id,
        body_ids=request.body_ids,
        holder_ref=request.holder_ref,
        holder_name=request.holder_name,
        region=request.region,
        employer_id=request.employer_id,
        verified_at=request.verified_at,
        created_at=request.verified_at,
    )
    ensure_same_verification(recorded, request)
    other = new_issue_request(**_fields(request_id=str(request.request_id), holder_ref="ref-2"))
    with pytest.raises(RequestConflict):
        ensure_same_verification(recorded, other)
