"""Intake's read-only view of the catalogue: the edition in force, loaded at start-up."""

from datetime import UTC, datetime

from services.intake.domain.applications import QualificationFacts
from services.registry.catalogue.loader import load_edition
from services.registry.catalogue.model import Catalogue, UnknownQualificationError


class EditionCatalogue:
    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue

    @classmethod
    def load(cls) -> "EditionCatalogue":
        return cls(load_edition())

    def facts(self, qualification_id: str) -> QualificationFacts | None:
        try:
            qualification = self._catalogue.qualification(qualification_id)
        except UnknownQualificationError:
            return None
        today = datetime.now(UTC).date()
        withdrawal = qualification.withdrawal
        return QualificationFacts(
            id=qualification.id,
            body_ids=qualification.body_ids,
            withdrawn=withdrawal is not None and withdrawal.date <= today,
        )
