"""Check characters of unified social credit codes (GB 32100) and resident IDs (GB 11643).

The expected check characters are recomputed here from the standards' definitions (weights as
powers of 3 mod 31 and of 2 mod 11), independently of the tables in the code under test.
"""

import random

import pytest

from services.intake.domain.identifiers import is_valid_credit_code, is_valid_resident_id

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, Z, S, V


def credit_check_character(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return CREDIT_ALPHABET[-total % 31]


def resident_check_character(first17: str) -> str:
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


PUBLISHED_CREDIT_CODES = ["91350100M000100Y43", "91110000802100433B"]
PUBLISHED_RESIDENT_IDS = ["11010519491231002X", "440524188001010014"]


def random_credit_code(rng: random.Random) -> str:
    first17 = "".join(rng.choice(CREDIT_ALPHABET) for _ in range(17))
    return first17 + credit_check_character(first17)


def random_resident_id(rng: random.Random) -> str:
    first17 = "".join(rng.choice("0123456789") for _ in range(17))
    return first17 + resident_check_character(first17)


def test_independent_computation_agrees_with_published_examples() -> None:
    for code in PUBLISHED_CREDIT_CODES:
        assert credit_check_character(code[:17]) == code[17]
    for number in PUBLISHED_RESIDENT_IDS:
        assert resident_check_character(number[:17]) == number[17]


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_published_credit_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("number", PUBLISHED_RESIDENT_IDS)
def test_published_resident_ids_are_valid(number: str) -> None:
    assert is_valid_resident_id(number)


def test_random_well_formed_identifiers_are_valid() -> None:
    rng = random.Random(11643)
    for _ in range(300):
        assert is_valid_credit_code(random_credit_code(rng))
        assert is_valid_resident_id(random_resident_id(rng))


def test_resident_ids_with_every_check_character_including_x() -> None:
    rng = random.Random(7)
    seen: set[str] = set()
    while len(seen) < 11:
        number = random_resident_id(rng)
        seen.add(number[17])
        assert is_valid_resident_id(number)
    assert "X" in seen


@pytest.mark.parametrize("code", PUBLISHED_CREDIT_CODES)
def test_every_single_character_corruption_of_a_credit_code_is_rejected(code: str) -> None:
    for position in range(18):
        for replacement in CREDIT_ALPHABET:
            if replacement == code[position]:
                continue
            corrupted = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_credit_code(corrupted), corrupted


@pytest.mark.parametrize("number", PUBLISHED_RESIDENT_IDS)
def test_every_single_character_corruption_of_a_resident_id_is_rejected(number: str) -> None:
    for position in range(18):
        for replacement in "0123456789X":
            if replacement == number[position]:
                continue
            corrupted = number[:position] + replacement + number[position + 1 :]
            assert not is_valid_resident_id(corrupted), corrupted


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_letters_outside_the_gb32100_alphabet_are_rejected(letter: str) -> None:
    code = PUBLISHED_CREDIT_CODES[0]
    for position in range(18):
        assert not is_valid_credit_code(code[:position] + letter + code[position + 1 :])


def test_lowercase_is_rejected() -> None:
    assert not is_valid_credit_code("91350100m000100y43")
    assert not is_valid_credit_code("91110000802100433b")
    assert not is_valid_resident_id("11010519491231002x")


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("", ""),
        ("91350100M000100Y4", "11010519491231002"),  # 17 characters
        ("91350100M000100Y430", "11010519491231002X0"),  # 19 characters
        ("350100M000100Y4", "110105491231002"),  # 15: the old ID card length
    ],
)
def test_wrong_lengths_are_rejected(code: str, number: str) -> None:
    assert not is_valid_credit_code(code)
    assert not is_valid_resident_id(number)


def test_surrounding_whitespace_and_newlines_are_rejected() -> None:
    for code in PUBLISHED_CREDIT_CODES:
        for padded in (code + "\n", " " + code, code + " "):
            assert not is_valid_credit_code(padded)
    for number in PUBLISHED_RESIDENT_IDS:
        for padded in (number + "\n", " " + number, number + " "):
            assert not is_valid_resident_id(padded)


def test_non_ascii_digits_are_rejected() -> None:
    fullwidth = "１１０１０５１９４９１２３１００２X"  # the classic example in full-width digits
    assert not is_valid_resident_id(fullwidth)
    arabic_indic = "١" + PUBLISHED_RESIDENT_IDS[0][1:]
    assert not is_valid_resident_id(arabic_indic)


def test_x_is_only_allowed_as_the_resident_id_check_character() -> None:
    assert not is_valid_resident_id("X1010519491231002X")
    assert not is_valid_resident_id("1101051949123100X2")
