"""How the console shows a holder's name unless an operator opens the request: the first
letter of each word (a Chinese name's surname character), the rest as asterisks."""

import unicodedata

MASK = "*"


def mask_name(name: str) -> str:
    """`Kenji Nguyen` -> `K**** N*****`, `张三丰` -> `张**`; blank stays blank."""
    words = unicodedata.normalize("NFC", name).split()
    return " ".join(word[0] + MASK * (len(word) - 1) for word in words)
