"""Search finds what users type: English names, abbreviations, body names and aliases,
with dashes, width and case folded and words in any order."""

import time

import pytest

from services.reference.catalogue.loader import load_edition
from services.reference.catalogue.model import Catalogue
from services.reference.catalogue.search import MAX_LIMIT, SearchQuery, search
from services.reference.catalogue.text import fold

CATALOGUE = load_edition()


def found(text: str) -> list[str]:
    return [q.id for q in search(CATALOGUE, SearchQuery(text=text), limit=MAX_LIMIT).items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Solutions Architect", "aws-e94e5145"),  # English name
        ("solutions architect professional", "aws-e94e5145"),
        ("architect solutions", "aws-e94e5145"),  # words in any order
        ("project management", "pmi-acbb3940"),  # English name and body name
        ("project management", "peoplecert-e40e242b"),  # PRINCE2: 受控环境下项目管理
        ("阿里云技术", "alibaba-cloud-b15a088b"),  # the body's second spelling
        ("领羊", "lingyang-d3aa99df"),  # the body, as the mutual list spells it
        ("瓴羊", "lingyang-d3aa99df"),
        ("HCIE-Datacom", "huawei-5f012622"),  # the seed writes HCIE—Datacom
        ("HCIE–Datacom", "huawei-5f012622"),  # en dash
        ("HCIE−Datacom", "huawei-5f012622"),  # minus sign
        ("ＨＣＩＥ－ＤＡＴＡＣＯＭ", "huawei-5f012622"),  # full width
        ("hcie datacom", "huawei-5f012622"),
        ("CFA", "cfa-institute-380d81db"),  # abbreviations
        ("pmp", "pmi-acbb3940"),
        ("CKA", "cncf-5b21d97c"),
        ("Amazon Web Services", "aws-e94e5145"),  # body name in English
        ("亚马逊", "aws-e94e5145"),
        ("Chartered Financial Analyst", "cfa-institute-380d81db"),
        ("AZ900", "microsoft-382465f9"),
    ],
)
def test_what_users_type_finds_the_qualification(text: str, expected: str) -> None:
    assert expected in found(text)


def test_every_word_must_match() -> None:
    assert found("project management huawei") == []
    assert set(found("HCIE Datacom")) == {"huawei-5f012622"}


def test_fold_dashes_width_and_case() -> None:
    assert fold("ＨＣＩＥ—Datacom") == fold("hcie-datacom") == fold("HCIE datacom")
    assert fold("AZ‑900") == fold("az 900")


def test_search_is_fast(catalogue: Catalogue = CATALOGUE) -> None:
    search(catalogue, SearchQuery(text="warm up"))
    started = time.perf_counter()
    for _ in range(200):
        search(catalogue, SearchQuery(text="project management"), limit=MAX_LIMIT)
    per_search = (time.perf_counter() - started) / 200
    assert per_search < 0.002, f"{per_search * 1000:.2f} ms per search"
