"""Check characters of Chinese identifiers: unified social credit codes (GB 32100-2015)
and resident identity card numbers (GB 11643-1999)."""

import re

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")

_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"
# ASCII only: `\d` would otherwise admit full-width and other Unicode digits.
_RESIDENT_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def is_valid_credit_code(code: str) -> bool:
    """True when `code` is 18 characters of the GB 32100 alphabet with a correct check character."""
    if not _USCC_SHAPE.fullmatch(code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(code, _USCC_WEIGHTS, strict=False))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def is_valid_resident_id(number: str) -> bool:
    """True when `number` is an 18-digit PRC resident ID number with a correct check digit."""
    if not _RESIDENT_ID_SHAPE.fullmatch(number):
        return False
    total = sum(int(d) * w for d, w in zip(number, _RESIDENT_ID_WEIGHTS, strict=False))
    return _RESIDENT_ID_CHECK[total % 11] == number[17]
