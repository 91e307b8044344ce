"""Domain model of the Beijing qualification-recognition catalogue.

Pure and immutable: a `Catalogue` is validated once when built and then only read.
Every invariant that makes a catalogue usable is checked here, so any `Catalogue`
instance in memory is known to be consistent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

Day = date  # `Withdrawal.date` shadows the type inside that class


class ListId(StrEnum):
    """The four lists of Attachment 1, in the order the notice prints them."""

    INTERNATIONAL = "international"
    URGENT = "urgent"
    OUTBOUND = "outbound"
    MUTUAL = "mutual"


LIST_ORDER: tuple[ListId, ...] = tuple(ListId)


class CatalogueInvariantError(ValueError):
    """The catalogue data break a rule the platform relies on."""


class UnknownQualificationError(KeyError):
    """No qualification with this id in the catalogue."""


class UnknownBodyError(KeyError):
    """No awarding body with this id in the catalogue."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Edition(_Frozen):
    id: str
    title_zh: str
    document_number: str
    notice_date: date
    effective_from: date
    effective_from_basis: str
    replaces: str | None
    replaces_document: str | None = None
    declared_total: int = Field(ge=0)


class Benefit(_Frozen):
    text_zh: str
    gloss_en: str | None = None


class QualificationList(_Frozen):
    id: ListId
    name_zh: str
    name_en: str
    declared_count: int = Field(ge=0)
    benefits_intro_zh: str
    benefits: tuple[Benefit, ...]
    benefits_gloss_en: str | None = None
    in_addition_to: ListId | None = None


class AwardingBody(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    name: str
    aliases: tuple[str, ...] = ()
    country: str

    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class SourceRow(_Frozen):
    """One row of Attachment 1 exactly as the seed prints it (cells stripped only)."""

    name: str
    issuer: str
    country: str
    fields: str
    notes: str


class Membership(_Frozen):
    list: ListId
    seq: int = Field(ge=1)
    source: SourceRow


class Withdrawal(_Frozen):
    date: date
    reason: str

    def in_effect_on(self, on: Day) -> bool:
        """The one rule for withdrawals: withdrawn from the date (inclusive), not before.

        A withdrawal dated ahead is scheduled: until then the qualification is still
        recognised, and afterwards it stays in the catalogue as history.
        """
        return on >= self.date


def catalogue_today() -> date:
    """The date every withdrawal and effective date is compared with (UTC, like the
    dates the platform stamps on requests)."""
    return datetime.now(UTC).date()


class Qualification(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    name: str
    # Not in the notice: the English name the awarding body publishes (curated, for search).
    name_en: str | None = None
    body_ids: tuple[str, ...] = Field(min_length=1)
    country: str
    fields: tuple[str, ...]
    notes: str
    memberships: tuple[Membership, ...] = Field(min_length=1)
    withdrawal: Withdrawal | None = None

    def list_ids(self) -> tuple[ListId, ...]:
        return tuple(m.list for m in self.memberships)

    def sort_key(self) -> tuple[int, int]:
        """Catalogue order: position of the first (primary) membership."""
        primary = self.memberships[0]
        return LIST_ORDER.index(primary.list), primary.seq


class Catalogue(_Frozen):
    edition: Edition
    lists: tuple[QualificationList, ...]
    bodies: tuple[AwardingBody, ...]
    qualifications: tuple[Qualification, ...]

    _qualifications_by_id: Mapping[str, Qualification] = PrivateAttr()
    _bodies_by_id: Mapping[str, AwardingBody] = PrivateAttr()
    _lists_by_id: Mapping[ListId, QualificationList] = PrivateAttr()

    @model_validator(mode="after")
    def _check_invariants(self) -> Catalogue:
        problems = [
            *_duplicates("list id", (lst.id for lst in self.lists)),
            *_duplicates("body id", (b.id for b in self.bodies)),
            *_duplicates("qualification id", (q.id for q in self.qualifications)),
            *_missing_lists(self.lists),
            *_dangling_bodies(self.qualifications, {b.id for b in self.bodies}),
            *_membership_problems(self.qualifications, self.lists),
        ]
        if (
            sum(lst.declared_count for lst in self.lists if lst.id != ListId.MUTUAL)
            != len(self.qualifications)
            or len(self.qualifications) != self.edition.declared_total
        ):
            problems.append(
                f"edition declares {self.edition.declared_total} distinct qualifications, "
                f"data hold {len(self.qualifications)}"
            )
        if problems:
            raise CatalogueInvariantError("; ".join(problems))
        return self

    def model_post_init(self, context: object, /) -> None:
        self._qualifications_by_id = MappingProxyType({q.id: q for q in self.qualifications})
        self._bodies_by_id = MappingProxyType({b.id: b for b in self.bodies})
        self._lists_by_id = MappingProxyType({lst.id: lst for lst in self.lists})

    def qualification(self, qualification_id: str) -> Qualification:
        try:
            return self._qualifications_by_id[qualification_id]
        except KeyError:
            raise UnknownQualificationError(qualification_id) from None

    def body(self, body_id: str) -> AwardingBody:
        try:
            return self._bodies_by_id[body_id]
        except KeyError:
            raise UnknownBodyError(body_id) from None

    def qualification_list(self, list_id: ListId) -> QualificationList:
        return self._lists_by_id[list_id]

    def bodies_of(self, qualification_id: str) -> tuple[AwardingBody, ...]:
        return tuple(self.body(b) for b in self.qualification(qualification_id).body_ids)

    def members_of(self, list_id: ListId) -> tuple[Qualification, ...]:
        """Qualifications on one list, in that list's sequence order."""
        seq_of = {
            q.id: m.seq for q in self.qualifications for m in q.memberships if m.list == list_id
        }
        return tuple(sorted((self.qualification(i) for i in seq_of), key=lambda q: seq_of[q.id]))

    def is_active(self, qualification_id: str, on: date) -> bool:
        """Recognised on `on`: the edition is in force and the qualification not withdrawn.

        Dates before the edition took effect are answered False: this catalogue cannot
        speak for the edition it replaced.
        """
        if on < self.edition.effective_from:
            return False
        return not self.is_withdrawn(qualification_id, on)

    def with_withdrawals(self, withdrawals: Mapping[str, Withdrawal]) -> Catalogue:
        """This edition with the given withdrawals (by qualification id) in place of its own."""
        qualifications = tuple(
            q.model_copy(update={"withdrawal": withdrawals.get(q.id, q.withdrawal)})
            for q in self.qualifications
        )
        return Catalogue(
            edition=self.edition,
            lists=self.lists,
            bodies=self.bodies,
            qualifications=qualifications,
        )

    def is_withdrawn(self, qualification_id: str, on: date) -> bool:
        withdrawal = self.qualification(qualification_id).withdrawal
        return withdrawal is not None and withdrawal.in_effect_on(on)


def _duplicates(what: str, ids: Iterable[str]) -> list[str]:
    return [f"duplicate {what} {i!r}" for i, n in Counter(ids).items() if n > 1]


def _missing_lists(lists: Iterable[QualificationList]) -> list[str]:
    missing = set(ListId) - {lst.id for lst in lists}
    return [f"list {m.value!r} missing" for m in sorted(missing)]


def _dangling_bodies(qualifications: Iterable[Qualification], body_ids: set[str]) -> list[str]:
    return [
        f"qualification {q.id!r} names unknown body {b!r}"
        for q in qualifications
        for b in q.body_ids
        if b not in body_ids
    ]


def _membership_problems(
    qualifications: Iterable[Qualification], lists: Iterable[QualificationList]
) -> list[str]:
    problems: list[str] = []
    seqs: dict[ListId, list[int]] = {lst.id: [] for lst in lists}
    for q in qualifications:
        list_ids = q.list_ids()
        if len(set(list_ids)) != len(list_ids):
            problems.append(f"qualification {q.id!r} is on one list twice")
        if list(list_ids) != sorted(list_ids, key=LIST_ORDER.index):
            problems.append(f"qualification {q.id!r} memberships are not in list order")
        if ListId.MUTUAL in list_ids and len(list_ids) < 2:
            problems.append(
                f"mutual-recognition entry {q.id!r} is not linked to a qualification "
                "on another list"
            )
        for m in q.memberships:
            seqs.setdefault(m.list, []).append(m.seq)
    declared = {lst.id: lst.declared_count for lst in lists}
    for list_id, found in seqs.items():
        expected = list(range(1, declared.get(list_id, 0) + 1))
        if sorted(found) != expected:
            problems.append(
                f"list {list_id.value!r} declares {declared.get(list_id, 0)} items numbered "
                f"1..n, data hold {len(found)}"
            )
    return problems
