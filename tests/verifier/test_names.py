"""Holder-name comparison: tolerant of spelling conventions, strict on different people."""

import pytest

from services.verifier.domain.names import NameMatch, compare_names


@pytest.mark.parametrize(
    ("claimed", "registered"),
    [
        ("Zhang Wei", "zhang wei"),
        ("José Müller", "JOSE MULLER"),
        ("ZHANG Wei", "Wei Zhang"),
        ("Wei Zhang", "ZHANG, Wei"),
        ("Anne-Marie O'Neil", "anne marie o neil"),
        ("  Li   Na ", "Li Na"),
        ("张伟", "张伟"),
        ("Ｚｈａｎｇ Ｗｅｉ", "Zhang Wei"),  # full-width letters, as typed with a Chinese IME
        ("Zoë Brontë", "Zoe Bronte"),
    ],
)
def test_same_name(claimed: str, registered: str) -> None:
    comparison = compare_names(claimed, registered)
    assert comparison.match == NameMatch.SAME
    assert comparison.explanation


@pytest.mark.parametrize(
    ("claimed", "registered"),
    [
        ("Zhang Wei", "Zhangwei"),  # joined pinyin
        ("Zhangwei", "Wei Zhang"),  # joined pinyin, other order
        ("Ouyang Xiu", "Ou Yang Xiu"),  # compound surname split
        ("Mary Ann Smith", "Mary Smith"),  # extra middle name
        ("Smith", "John Smith"),
    ],
)
def test_uncertain_name(claimed: str, registered: str) -> None:
    comparison = compare_names(claimed, registered)
    assert comparison.match == NameMatch.UNCERTAIN
    assert comparison.explanation
    assert compare_names(registered, claimed).match == NameMatch.UNCERTAIN


@pytest.mark.parametrize(
    ("claimed", "registered"),
    [
        ("Zhang Wei", "Li Na"),
        ("Zhang Wei", "Zhang Wen"),
        ("Mary Smith", "Army Smith"),  # same letters, different person
        ("Lena", "Neal"),
        ("Wang Fang", "Wang Gang"),
        ("张伟", "张为"),
    ],
)
def test_different_name(claimed: str, registered: str) -> None:
    comparison = compare_names(claimed, registered)
    assert comparison.match == NameMatch.DIFFERENT
    assert comparison.explanation


@pytest.mark.parametrize(
    ("claimed", "registered"), [("", "Zhang Wei"), ("Zhang Wei", ""), ("", "")]
)
def test_empty_name_is_different(claimed: str, registered: str) -> None:
    assert compare_names(claimed, registered).match == NameMatch.DIFFERENT


def test_a_name_of_punctuation_only_counts_as_empty() -> None:
    assert compare_names(" - . ", "Zhang Wei").match == NameMatch.DIFFERENT


def test_many_word_names_are_compared_without_blowing_up() -> None:
    long_name = " ".join(f"word{i}" for i in range(12))
    assert compare_names(long_name, long_name.upper()).match == NameMatch.SAME
    assert compare_names(long_name, "someone else entirely").match == NameMatch.DIFFERENT
