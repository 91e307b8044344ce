"""Text normalisation rules for catalogue strings.

The seed is a PDF-to-text conversion: a name wrapped onto two lines in the PDF comes
out with a space between two Chinese characters ("审计师 认证"). The catalogue's own
cross-references print the same names without that space (the CIBEP row cites
"CICS 注册国际会议执行专员认证" for the row named "CICS 注册国际会议执行 专员认证"),
which is the evidence for `tidy`: whitespace between two CJK characters is a wrap
artefact and goes; whitespace next to Latin text is real and stays (collapsed).
"""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_WRAP_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_WHITESPACE = re.compile(r"\s+")
FIELD_SEPARATOR = "、"
# Hyphen, non-breaking hyphen, figure/en/em dash, horizontal bar, minus, small/full-width
# hyphen-minus: users type any of them for the seed's "HCIE—Datacom" or "AZ-900".
_DASHES = re.compile("[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")


def tidy(text: str) -> str:
    """Drop PDF line-wrap gaps between CJK characters, collapse other whitespace."""
    return _WHITESPACE.sub(" ", _WRAP_GAP.sub("", text)).strip()


def split_fields(cell: str) -> tuple[str, ...]:
    """The 领域 cell lists fields separated by 、 (sometimes with stray spaces)."""
    return tuple(tidy(part) for part in cell.split(FIELD_SEPARATOR) if part.strip())


def search_key(text: str) -> str:
    """Key for partial, case- and width-insensitive matching that ignores all whitespace.

    NFKC folds full-width Latin and brackets to ASCII; dropping every space makes
    "ACCA会计师" find "ACCA 会计师证书" and survives wrap gaps on either side.
    """
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).casefold()


def fold(text: str) -> str:
    """Search folding: NFKC (width), case, and every dash read as a word break.

    Unlike `search_key` (which qualification ids depend on, so it must never change),
    this keeps word breaks as single spaces, for matching words in any order.
    """
    folded = _DASHES.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    return _WHITESPACE.sub(" ", folded).strip()
