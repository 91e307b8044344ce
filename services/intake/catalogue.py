"""Intake's view of the catalogue: the edition in force, loaded at start-up, plus the
withdrawals the registry has announced since (kept in intake's schema, refreshed)."""

from collections.abc import Iterable
from datetime import UTC, date, datetime

from services.intake.domain.applications import QualificationFacts
from services.intake.store.observations import WithdrawalRecord
from services.registry.catalogue.loader import load_edition
from services.registry.catalogue.model import (
    Catalogue,
    Qualification,
    UnknownQualificationError,
    Withdrawal,
)


class EditionCatalogue:
    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._withdrawals: dict[str, Withdrawal] = {}

    @classmethod
    def load(cls) -> "EditionCatalogue":
        return cls(load_edition())

    @property
    def edition(self) -> Catalogue:
        return self._catalogue

    def replace_withdrawals(self, records: Iterable[WithdrawalRecord]) -> None:
        """Adopt the announced withdrawals (all of them: the table is small)."""
        self._withdrawals = {
            r.qualification_id: Withdrawal(date=r.withdrawn_on, reason=r.reason) for r in records
        }

    def withdrawal_of(self, qualification: Qualification) -> Withdrawal | None:
        """The announced withdrawal, else the one printed in the edition, if any."""
        return self._withdrawals.get(qualification.id) or qualification.withdrawal

    def facts(self, qualification_id: str) -> QualificationFacts | None:
        try:
            qualification = self._catalogue.qualification(qualification_id)
        except UnknownQualificationError:
            return None
        return QualificationFacts(
            id=qualification.id,
            body_ids=qualification.body_ids,
            withdrawn=self.is_withdrawn(qualification, datetime.now(UTC).date()),
        )

    def is_withdrawn(self, qualification: Qualification, on: date) -> bool:
        withdrawal = self.withdrawal_of(qualification)
        return withdrawal is not None and withdrawal.date <= on
