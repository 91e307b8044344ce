from collections import Counter
from datetime import date

import pytest

from simulator.population import (
    CERTIFICATE_KINDS,
    find,
    lookup,
    normalise_name,
    population_for,
    unknown_certificate_number,
)

SEED = 20250101


def test_same_seed_and_body_give_the_same_population() -> None:
    assert population_for(SEED, "aws") == population_for(SEED, "aws")


def test_seed_and_body_each_change_the_population() -> None:
    numbers = {cert.certificate_number for cert in population_for(SEED, "aws")}
    assert numbers != {cert.certificate_number for cert in population_for(SEED + 1, "aws")}
    holders = [cert.holder_name for cert in population_for(SEED, "pmi")]
    assert holders != [cert.holder_name for cert in population_for(SEED, "cfa")]


def test_population_has_every_kind_and_unique_numbers() -> None:
    population = population_for(SEED, "acca")
    assert len(population) == 200
    assert set(Counter(cert.kind for cert in population)) == set(CERTIFICATE_KINDS)
    assert len({cert.certificate_number for cert in population}) == 200
    assert [cert.index for cert in population] == list(range(200))


def test_population_mixes_chinese_and_latin_holders() -> None:
    population = population_for(SEED, "huawei")
    chinese = [cert for cert in population if cert.native_name]
    assert 40 < len(chinese) < 160
    assert all(cert.holder_name.isascii() for cert in chinese)  # registered in pinyin


def test_statuses_and_dates_follow_the_kind() -> None:
    for cert in population_for(SEED, "microsoft"):
        if cert.kind == "expired":
            assert cert.status == "expired"
            assert cert.expires_on is not None and cert.expires_on < date(2024, 1, 1)
        elif cert.kind == "revoked":
            assert cert.status == "revoked"
        else:
            assert cert.status == "active"
            assert cert.expires_on is None or cert.expires_on >= date(2029, 1, 1)
        assert cert.expires_on is None or cert.issued_on < cert.expires_on


def test_authentic_holders_claim_their_registered_name() -> None:
    cert = find(SEED, "aws", "authentic")
    assert cert.claimed_name == cert.holder_name


@pytest.mark.parametrize(
    "kind",
    [
        "name_case_variant",
        "name_diacritics_variant",
        "name_word_order_variant",
        "name_pinyin_order_variant",
    ],
)
def test_name_variants_differ_only_superficially(kind: str) -> None:
    for nth in range(4):
        cert = find(SEED, "rics", kind, nth)  # type: ignore[arg-type]
        assert cert.claimed_name != cert.holder_name
        claimed = sorted(normalise_name(cert.claimed_name).split())
        assert claimed == sorted(normalise_name(cert.holder_name).split())


def test_pinyin_order_variant_is_a_chinese_holder_in_family_first_order() -> None:
    cert = find(SEED, "ahpra", "name_pinyin_order_variant")
    assert cert.native_name is not None
    assert cert.claimed_name == f"{cert.family_name} {cert.given_name}"
    assert cert.holder_name == f"{cert.given_name} {cert.family_name}"


def test_name_mismatch_is_a_different_person() -> None:
    for nth in range(4):
        cert = find(SEED, "cfa", "name_mismatch", nth)
        claimed = set(normalise_name(cert.claimed_name).split())
        assert normalise_name(cert.family_name) not in claimed


def test_find_fails_clearly_beyond_the_available_certificates() -> None:
    with pytest.raises(LookupError):
        find(SEED, "aws", "name_mismatch", nth=4)


def test_lookup_finds_members_and_not_unknown_numbers() -> None:
    cert = find(SEED, "pmi", "revoked")
    assert lookup(SEED, "pmi", cert.certificate_number.lower()) == cert
    assert lookup(SEED, "pmi", unknown_certificate_number("pmi")) is None
    assert lookup(SEED, "aws", cert.certificate_number) is None


def test_any_ascii_slug_is_a_body() -> None:
    cert = find(SEED, "a-body_nobody-listed", "authentic")
    assert cert.certificate_number.startswith("ABODYNOB-")
