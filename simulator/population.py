"""The seeded population of certificates each simulated body has issued (pure, deterministic).

`population_for(seed, body_id)` always returns the same certificates for the same pair, so a
test, the end-to-end suite and the running simulator agree on who holds what without sharing
any state. `find` picks a certificate of a given kind for tests.

Jointly awarded qualifications (e.g. CDCS, awarded by LIBF, ICC and BAFT together) are one
certificate held by every co-awarding body: the same number, holder, dates and status at each,
drawn once per award and appended to each co-awarding body's own population.
"""

import dataclasses
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal, get_args

from simulator.bodies import display_name

CertificateStatus = Literal["active", "revoked", "expired"]
CertificateKind = Literal[
    "authentic",
    "revoked",
    "expired",
    "name_case_variant",
    "name_diacritics_variant",
    "name_word_order_variant",
    "name_pinyin_order_variant",
    "name_mismatch",
]
CERTIFICATE_KINDS: tuple[CertificateKind, ...] = get_args(CertificateKind)
DEFAULT_POPULATION_SIZE = 200

# How many certificates of each special kind a body holds; the rest are authentic.
_SPECIAL_KIND_COUNTS: dict[CertificateKind, int] = {
    "revoked": 15,
    "expired": 15,
    "name_case_variant": 4,
    "name_diacritics_variant": 4,
    "name_word_order_variant": 4,
    "name_pinyin_order_variant": 4,
    "name_mismatch": 4,
}

# fmt: off
_LATIN_GIVEN = ("Anna", "Liam", "Olivia", "Noah", "Emma", "Lukas", "Priya", "Mohammed",
                "Ingrid", "Mateo", "Grace", "Daniel", "Sofia", "James", "Amara", "Kenji")
_LATIN_FAMILY = ("Smith", "Johnson", "Schmidt", "Rossi", "Dubois", "Kowalski", "Nguyen",
                 "Andersson", "Brown", "Silva", "Okafor", "Tanaka", "Patel", "Walker")
_ACCENTED_GIVEN = ("José", "François", "Zoë", "Chloé", "Renée", "Tomás", "Siobhán", "Björn")
_ACCENTED_FAMILY = ("Martínez", "Müller", "Lefèvre", "García", "Fernández", "Novák",
                    "Dvořák", "Gómez")
# (hanzi, pinyin) pairs: registered names are pinyin in Western order, e.g. "Wei Zhang".
_CHINESE_FAMILY = (("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
                   ("杨", "Yang"), ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"),
                   ("欧阳", "Ouyang"))
_CHINESE_GIVEN = (("伟", "Wei"), ("芳", "Fang"), ("秀英", "Xiuying"), ("敏", "Min"),
                  ("静", "Jing"), ("强", "Qiang"), ("磊", "Lei"), ("建华", "Jianhua"),
                  ("子涵", "Zihan"), ("晓明", "Xiaoming"), ("婷", "Ting"), ("浩然", "Haoran"))
# fmt: on
_CREDENTIAL_GRADES = (
    "Certified Associate",
    "Certified Professional",
    "Certified Specialist",
    "Certified Expert",
    "Chartered Member",
)
_VALIDATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class JointAward:
    """A qualification several bodies award together, as the catalogue lists it."""

    qualification_id: str  # the catalogue's id (a test keeps this table equal to it)
    prefix: str  # of the certificate numbers
    title: str
    body_ids: tuple[str, ...]


JOINT_AWARDS: tuple[JointAward, ...] = (
    JointAward(
        "baft-a281b26c", "CDCS", "Certified Documentary Credit Specialist", ("libf", "icc", "baft")
    ),
    JointAward(
        "baft-85f497f3",
        "CSDG",
        "Certified Specialist in Demand Guarantees",
        ("libf", "icc", "baft"),
    ),
    JointAward(
        "baft-eadee40f",
        "CSCF",
        "Certified Supply Chain Finance Specialist",
        ("libf", "baft", "gscff"),
    ),
    JointAward(
        "baft-406aef22",
        "CTFC",
        "Certified Trade Finance Compliance Specialist",
        ("libf", "iiblp", "baft"),
    ),
    JointAward("ecuk-e4506f57", "CENG", "Chartered Engineer", ("ecuk", "iet")),
)
# A smaller mix than a body's own: mostly authentic, a few of each failure that matters.
_JOINT_KINDS: dict[CertificateKind, int] = {
    "authentic": 30,
    "revoked": 3,
    "expired": 3,
    "name_pinyin_order_variant": 2,
    "name_mismatch": 2,
}


@dataclass(frozen=True)
class PersonName:
    given: str
    family: str
    native: str | None = None  # hanzi for Chinese holders

    @property
    def western(self) -> str:
        return f"{self.given} {self.family}"

    @property
    def family_first(self) -> str:
        return f"{self.family} {self.given}"


@dataclass(frozen=True)
class SimulatedCertificate:
    """One certificate as the body's records hold it.

    `holder_name` is the name the body registered; `claimed_name` is the name a holder would
    write on an application. They are equal for every kind except the `name_*` kinds.
    """

    body_id: str
    index: int  # position in the population, also the status-list index
    kind: CertificateKind
    certificate_number: str
    validation_number: str
    holder_name: str
    given_name: str
    family_name: str
    native_name: str | None
    claimed_name: str
    credential_name: str
    issued_on: date
    expires_on: date | None
    status: CertificateStatus
    joint: bool = False  # held identically by every body of a joint award

    @property
    def credential_id(self) -> str:
        """Every channel identifies a certificate by its certificate number."""
        return self.certificate_number


def population_for(
    seed: int, body_id: str, size: int = DEFAULT_POPULATION_SIZE
) -> list[SimulatedCertificate]:
    """All certificates `body_id` has issued under `seed`, in status-list index order."""
    return list(_population(seed, body_id, size))


def find(
    seed: int,
    body_id: str,
    kind: CertificateKind = "authentic",
    nth: int = 0,
    size: int = DEFAULT_POPULATION_SIZE,
) -> SimulatedCertificate:
    """The `nth` certificate of `kind`; raises LookupError when the body has fewer."""
    matching = [cert for cert in _population(seed, body_id, size) if cert.kind == kind]
    if nth >= len(matching):
        raise LookupError(f"{body_id} has {len(matching)} certificates of kind {kind}")
    return matching[nth]


def find_joint(
    seed: int, qualification_id: str, kind: CertificateKind = "authentic", nth: int = 0
) -> SimulatedCertificate:
    """The `nth` certificate of `kind` of a joint award, as its first body holds it."""
    award = next((a for a in JOINT_AWARDS if a.qualification_id == qualification_id), None)
    if award is None:
        raise LookupError(f"{qualification_id} is not a joint award")
    matching = [cert for cert in _joint_records(seed, award) if cert.kind == kind]
    if nth >= len(matching):
        raise LookupError(f"{award.prefix} has {len(matching)} certificates of kind {kind}")
    return dataclasses.replace(matching[nth], body_id=award.body_ids[0])


def lookup(
    seed: int, body_id: str, certificate_number: str, size: int = DEFAULT_POPULATION_SIZE
) -> SimulatedCertificate | None:
    """The certificate with this number (case-insensitive), or None for an unknown one."""
    return _index_by_number(seed, body_id, size).get(certificate_number.strip().upper())


def unknown_certificate_number(body_id: str, nth: int = 0) -> str:
    """A well-formed certificate number that no population holds (real ones are >= 10^7)."""
    return f"{_number_prefix(body_id)}-{nth:08d}"


def normalise_name(name: str) -> str:
    """Case-, diacritic- and whitespace-insensitive form, used for searches only."""
    return " ".join(_strip_diacritics(name).casefold().split())


@lru_cache(maxsize=256)
def _index_by_number(seed: int, body_id: str, size: int) -> dict[str, SimulatedCertificate]:
    return {cert.certificate_number: cert for cert in _population(seed, body_id, size)}


@lru_cache(maxsize=256)
def _population(seed: int, body_id: str, size: int) -> tuple[SimulatedCertificate, ...]:
    rng = random.Random(f"population|{seed}|{body_id}")
    kinds = _shuffled_kinds(rng, size)
    numbers = _unique_numbers(rng, _number_prefix(body_id), size)
    own = tuple(
        _make_certificate(rng, body_id, index, kind, number)
        for index, (kind, number) in enumerate(zip(kinds, numbers, strict=True))
    )
    joint = [
        cert
        for award in JOINT_AWARDS
        if body_id in award.body_ids
        for cert in _joint_records(seed, award)
    ]
    return own + tuple(
        dataclasses.replace(cert, body_id=body_id, index=size + offset)
        for offset, cert in enumerate(joint)
    )


@lru_cache(maxsize=16)
def _joint_records(seed: int, award: JointAward) -> tuple[SimulatedCertificate, ...]:
    """The award's certificates, drawn once for all its bodies (body and index set later)."""
    rng = random.Random(f"joint|{seed}|{award.prefix}")
    kinds = [kind for kind, count in _JOINT_KINDS.items() for _ in range(count)]
    rng.shuffle(kinds)
    numbers = _unique_numbers(rng, award.prefix, len(kinds))
    return tuple(
        dataclasses.replace(
            _make_certificate(rng, award.body_ids[0], index, kind, number),
            credential_name=f"{award.title} ({award.prefix})",
            joint=True,
        )
        for index, (kind, number) in enumerate(zip(kinds, numbers, strict=True))
    )


def _shuffled_kinds(rng: random.Random, size: int) -> list[CertificateKind]:
    specials: list[CertificateKind] = [
        kind for kind, count in _SPECIAL_KIND_COUNTS.items() for _ in range(count)
    ]
    if size < len(specials):
        raise ValueError(f"a population needs at least {len(specials)} certificates")
    kinds: list[CertificateKind] = specials + ["authentic"] * (size - len(specials))
    rng.shuffle(kinds)
    return kinds


def _unique_numbers(rng: random.Random, prefix: str, size: int) -> list[str]:
    seen: set[int] = set()
    while len(seen) < size:
        seen.add(rng.randrange(10_000_000, 100_000_000))
    ordered = sorted(seen)
    rng.shuffle(ordered)
    return [f"{prefix}-{value}" for value in ordered]


def _number_prefix(body_id: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", body_id.upper())[:8] or "BODY"


def _make_certificate(
    rng: random.Random, body_id: str, index: int, kind: CertificateKind, number: str
) -> SimulatedCertificate:
    registered, claimed = _names_for(rng, kind)
    status, issued_on, expires_on = _lifecycle_for(rng, kind)
    grade = rng.choice(_CREDENTIAL_GRADES)
    return SimulatedCertificate(
        body_id=body_id,
        index=index,
        kind=kind,
        certificate_number=number,
        validation_number="".join(rng.choice(_VALIDATION_ALPHABET) for _ in range(12)),
        holder_name=_registered_form(registered, kind),
        given_name=registered.given,
        family_name=registered.family,
        native_name=registered.native,
        claimed_name=claimed,
        credential_name=f"{display_name(body_id)} {grade}",
        issued_on=issued_on,
        expires_on=expires_on,
        status=status,
    )


def _registered_form(name: PersonName, kind: CertificateKind) -> str:
    # Bodies that print names from passports register them in capitals.
    return name.western.upper() if kind == "name_case_variant" else name.western


def _names_for(rng: random.Random, kind: CertificateKind) -> tuple[PersonName, str]:
    """(registered name, name the holder claims) for a certificate of `kind`."""
    if kind == "name_diacritics_variant":
        name = PersonName(rng.choice(_ACCENTED_GIVEN), rng.choice(_ACCENTED_FAMILY))
        return name, _strip_diacritics(name.western)
    if kind == "name_pinyin_order_variant":
        name = _chinese_name(rng)
        return name, name.family_first
    if kind == "name_word_order_variant":
        name = _latin_name(rng)
        return name, name.family_first
    if kind == "name_case_variant":
        name = _latin_name(rng)
        return name, name.western
    if kind == "name_mismatch":
        name = _any_name(rng)
        other = _any_name(rng)
        while normalise_name(other.family) == normalise_name(name.family):
            other = _any_name(rng)
        return name, other.western
    name = _any_name(rng)
    return name, name.western


def _any_name(rng: random.Random) -> PersonName:
    draw = rng.random()
    if draw < 0.45:
        return _chinese_name(rng)
    if draw < 0.6:
        return PersonName(rng.choice(_ACCENTED_GIVEN), rng.choice(_ACCENTED_FAMILY))
    return _latin_name(rng)


def _latin_name(rng: random.Random) -> PersonName:
    return PersonName(rng.choice(_LATIN_GIVEN), rng.choice(_LATIN_FAMILY))


def _chinese_name(rng: random.Random) -> PersonName:
    family_hanzi, family_pinyin = rng.choice(_CHINESE_FAMILY)
    given_hanzi, given_pinyin = rng.choice(_CHINESE_GIVEN)
    return PersonName(given_pinyin, family_pinyin, family_hanzi + given_hanzi)


def _strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _lifecycle_for(
    rng: random.Random, kind: CertificateKind
) -> tuple[CertificateStatus, date, date | None]:
    """Dates are absolute (not relative to today) so the population never changes; active
    certificates run until 2029 or later and expired ones ended by 2023."""
    if kind == "expired":
        issued_on = _random_date(rng, date(2012, 1, 1), date(2018, 12, 31))
        return "expired", issued_on, _random_date(rng, date(2019, 1, 1), date(2023, 12, 31))
    issued_on = _random_date(rng, date(2012, 1, 1), date(2024, 12, 31))
    expires_on = (
        None if rng.random() < 0.3 else _random_date(rng, date(2029, 1, 1), date(2034, 12, 31))
    )
    return ("revoked" if kind == "revoked" else "active"), issued_on, expires_on


def _random_date(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))
