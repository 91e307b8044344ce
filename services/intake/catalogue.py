"""Intake's view of the catalogue: the edition in force, loaded at start-up, plus the
withdrawals the registry has announced since (kept in intake's schema, refreshed)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import date

from services.intake.domain.applications import QualificationFacts
from services.intake.store.observations import WithdrawalRecord
from services.reference.catalogue.loader import load_edition
from services.reference.catalogue.model import (
    Catalogue,
    Qualification,
    UnknownQualificationError,
    Withdrawal,
    catalogue_today,
)


class EditionCatalogue:
    def __init__(self, catalogue: Catalogue) -> None:
        self._edition = catalogue
        self._current = catalogue
        self._announced: dict[str, Withdrawal] = {}

    @classmethod
    def load(cls) -> "EditionCatalogue":
        return cls(load_edition())

    @property
    def edition(self) -> Catalogue:
        """The edition as published (no announced withdrawals)."""
        return self._edition

    @property
    def current(self) -> Catalogue:
        """The edition with every announced withdrawal applied, scheduled ones included."""
        return self._current

    def replace_withdrawals(self, records: Iterable[WithdrawalRecord]) -> None:
        """Adopt the announced withdrawals (all of them: the table is small)."""
        announced = {
            r.qualification_id: Withdrawal(date=r.withdrawn_on, reason=r.reason) for r in records
        }
        if announced != self._announced:
            self._current = self._edition.with_withdrawals(announced)
            self._announced = announced

    def withdrawal_of(self, qualification: Qualification) -> Withdrawal | None:
        """The announced withdrawal, else the one printed in the edition, if any."""
        return self._current.qualification(qualification.id).withdrawal

    def facts(self, qualification_id: str) -> QualificationFacts | None:
        try:
            qualification = self._current.qualification(qualification_id)
        except UnknownQualificationError:
            return None
        return QualificationFacts(
            id=qualification.id,
            body_ids=qualification.body_ids,
            withdrawn=self.is_withdrawn(qualification, catalogue_today()),
        )

    def is_withdrawn(self, qualification: Qualification, on: date) -> bool:
        return self._current.is_withdrawn(qualification.id, on)


async def refresh_withdrawals(
    catalogue: EditionCatalogue,
    read: Callable[[], Awaitable[list[WithdrawalRecord]]],
    every_seconds: float,
) -> None:
    """Keeps this process's view current when another process consumed the withdrawal."""
    while True:
        catalogue.replace_withdrawals(await read())
        await asyncio.sleep(every_seconds)
