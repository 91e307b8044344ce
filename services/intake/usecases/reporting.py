"""The verification report of an employer's authentic result: found among the employer's own
requests only, described from the catalogue, rendered as a PDF off the event loop."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from services.intake.catalogue import EditionCatalogue
from services.intake.domain.errors import not_found
from services.intake.domain.report import (
    CatalogueEntry,
    ReportSource,
    VerificationReport,
    catalogue_entry,
    verification_report,
)
from services.intake.store.repository import IntakeStore
from services.reference.catalogue.model import (
    Catalogue,
    UnknownBodyError,
    UnknownQualificationError,
)

# A code's check symbol may be one of * ~ $ =, which some file systems refuse.
_FILENAME_UNSAFE = re.compile(r"[^0-9A-Za-z-]")


class ReportRenderer(Protocol):
    async def render(self, report: VerificationReport) -> bytes: ...


@dataclass(frozen=True)
class ReportFile:
    filename: str
    content: bytes


async def make_report(
    store: IntakeStore,
    catalogue: EditionCatalogue,
    renderer: ReportRenderer,
    *,
    employer_id: UUID,
    employer_name: str,
    request_id: UUID,
    public_check_url: str,
) -> ReportFile:
    """The PDF of the employer's request; raises a not-found Refusal for a request of another
    employer (or none), ReportUnavailable for a result that has no report."""
    record = await store.get(employer_id, request_id)
    if record is None:
        raise not_found()
    source = ReportSource(
        request_id=record.id,
        status=record.status,
        verification_code=record.verification_code,
        region=record.region,
        statement=await store.statement(employer_id, request_id),
    )
    report = verification_report(
        source,
        describe(catalogue.current, record.qualification_id, record.body_ids),
        employer_name,
        public_check_url,
        made_at=datetime.now(UTC),
    )
    return ReportFile(
        filename=f"verification-report-{_FILENAME_UNSAFE.sub('_', report.code)}.pdf",
        content=await renderer.render(report),
    )


def describe(catalogue: Catalogue, qualification_id: str, body_ids: list[str]) -> CatalogueEntry:
    """The qualification and the bodies asked, as the catalogue names them (a qualification
    since dropped from the catalogue keeps its identifier)."""
    bodies = [_body_name(catalogue, body_id) for body_id in body_ids]
    try:
        qualification = catalogue.qualification(qualification_id)
    except UnknownQualificationError:
        return catalogue_entry(qualification_id, None, [], bodies)
    lists = [catalogue.qualification_list(list_id) for list_id in qualification.list_ids()]
    return catalogue_entry(
        qualification.name,
        qualification.name_en,
        [(listed.name_zh, listed.name_en) for listed in lists],
        bodies,
    )


def _body_name(catalogue: Catalogue, body_id: str) -> str:
    try:
        return catalogue.body(body_id).name
    except UnknownBodyError:
        return body_id
