"""Verification codes: 80 random bits in Crockford base32 with Crockford's mod-37 check symbol.

A code prints as four groups of four symbols and the check symbol, e.g. `7K3M-Q9XD-2HVR-B8TW-Z`.
The check symbol catches every single mistyped symbol and every swap of two adjacent symbols
before any lookup: 37 is prime and divides neither 32**k nor the difference of two symbols.
"""

import functools
import re
import secrets
from dataclasses import dataclass

from services.registry.domain.errors import CheckCharacterMismatch, MalformedCode

SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = SYMBOLS + "*~$=U"
CODE_BITS = 80
CODE_LENGTH = 16  # symbols of 5 bits, without the check symbol
GROUP_SIZE = 4

_VALUES = {symbol: value for value, symbol in enumerate(SYMBOLS)} | {"I": 1, "L": 1, "O": 0}
_CHECK_VALUES = {symbol: value for value, symbol in enumerate(CHECK_SYMBOLS)} | {
    "I": 1,
    "L": 1,
    "O": 0,
}
_SEPARATORS = re.compile(r"[\s\-]+")
_MAX_INPUT = 64  # generous for any way of writing 17 symbols; refuses pasted essays cheaply


@dataclass(frozen=True, slots=True)
class VerificationCode:
    value: int

    def __post_init__(self) -> None:
        if not 0 <= self.value < 1 << CODE_BITS:
            raise ValueError("a verification code holds exactly 80 bits")

    @property
    def check(self) -> str:
        return CHECK_SYMBOLS[self.value % 37]

    @property
    def compact(self) -> str:
        """The 17 symbols without separators, as stored."""
        return _encode(self.value) + self.check

    def __str__(self) -> str:
        body = _encode(self.value)
        groups = [body[i : i + GROUP_SIZE] for i in range(0, CODE_LENGTH, GROUP_SIZE)]
        return "-".join([*groups, self.check])


def generate_code() -> VerificationCode:
    return VerificationCode(secrets.randbits(CODE_BITS))


def parse_code(text: str) -> VerificationCode:
    """Reads a code as a person may type it; raises MalformedCode or CheckCharacterMismatch."""
    symbols = _normalise(text)
    value = 0
    for position, symbol in enumerate(symbols[:CODE_LENGTH], start=1):
        if symbol not in _VALUES:
            raise _bad_symbol(symbol, position)
        value = value * 32 + _VALUES[symbol]
    typed_check = symbols[CODE_LENGTH]
    if typed_check not in _CHECK_VALUES:
        raise _bad_symbol(typed_check, CODE_LENGTH + 1)
    code = VerificationCode(value)
    if CHECK_SYMBOLS[_CHECK_VALUES[typed_check]] != code.check:
        raise CheckCharacterMismatch(
            f"the check character '{typed_check}' does not match the rest of the code; "
            "a character was probably mistyped",
            f"校验字符“{typed_check}”与核验码其余部分不符，可能有字符输入错误",
        )
    return code


def _normalise(text: str) -> str:
    if len(text) > _MAX_INPUT or not text.isascii():
        raise MalformedCode(
            "a verification code has 17 characters from 0-9 and A-Z",
            "核验码由 17 个字符（0-9、A-Z）组成",
        )
    symbols = _SEPARATORS.sub("", text).upper()
    if len(symbols) != CODE_LENGTH + 1:
        raise MalformedCode(
            f"a verification code has 17 characters without separators, got {len(symbols)}",
            f"核验码（不含分隔符）应为 17 个字符，实际为 {len(symbols)} 个",
        )
    return symbols


def _bad_symbol(symbol: str, position: int) -> MalformedCode:
    return MalformedCode(
        f"character '{symbol}' at position {position} cannot appear in a verification code",
        f"核验码第 {position} 位的字符“{symbol}”无效",
    )


@functools.lru_cache(maxsize=65_536)  # every lookup prints its code: known codes recur
def _encode(value: int) -> str:
    symbols = []
    for _ in range(CODE_LENGTH):
        value, digit = divmod(value, 32)
        symbols.append(SYMBOLS[digit])
    return "".join(reversed(symbols))


_NAME_SEPARATORS = re.compile(r"([\s\-'’.·•・]+)")


def mask_name(name: str) -> str:
    """Keeps the first character of each part of a name: "ZHANG Wei" → "Z**** W**", "张伟" → "张*".

    Separators (spaces, hyphens, apostrophes, dots, the middle dot of transliterated names)
    are kept so the shape of the name stays recognisable to its holder.
    """
    parts = _NAME_SEPARATORS.split(name.strip())
    return "".join(
        part if index % 2 else part[:1] + "*" * (len(part) - 1) for index, part in enumerate(parts)
    )
