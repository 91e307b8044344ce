"""Holder-name matching that tolerates case, diacritics, word order and pinyin order. Pure."""

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from itertools import permutations


class NameMatch(StrEnum):
    SAME = "same"
    UNCERTAIN = "uncertain"
    DIFFERENT = "different"


@dataclass(frozen=True)
class NameComparison:
    match: NameMatch
    explanation: str


_SEPARATORS = re.compile(r"[\s,.\-'·・]+")


def _tokens(name: str) -> tuple[str, ...]:
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return tuple(sorted(t for t in _SEPARATORS.split(bare) if t))


_MAX_REORDERED_TOKENS = 6  # 6! joinings; real names have fewer words


def _joinings(tokens: tuple[str, ...]) -> set[str]:
    """The name written without separators, its words in any order."""
    if len(tokens) > _MAX_REORDERED_TOKENS:
        return {"".join(tokens)}
    return {"".join(order) for order in permutations(tokens)}


def compare_names(claimed: str, registered: str) -> NameComparison:
    claimed_tokens, registered_tokens = _tokens(claimed), _tokens(registered)
    if not claimed_tokens or not registered_tokens:
        return NameComparison(NameMatch.DIFFERENT, "a name is empty")
    if claimed_tokens == registered_tokens:
        return NameComparison(NameMatch.SAME, "same name up to case, diacritics and word order")
    if _joinings(claimed_tokens) & _joinings(registered_tokens):
        return NameComparison(NameMatch.UNCERTAIN, "same letters, split into words differently")
    if set(claimed_tokens) < set(registered_tokens) or set(registered_tokens) < set(claimed_tokens):
        return NameComparison(NameMatch.UNCERTAIN, "one name has words the other lacks")
    return NameComparison(NameMatch.DIFFERENT, "the registered name differs")
