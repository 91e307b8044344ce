"""Applying for a verification: from a validated request body to an eligible, estimated
request with its event (the use case behind single, dry-run and batch submissions)."""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from services.contracts.events import CertificateClaim, HolderClaim, VerificationRequested
from services.intake.api.schemas import VerificationIn
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.applications import (
    Application,
    Certificate,
    Holder,
    check_eligibility,
)
from services.intake.domain.lifecycle import IN_FLIGHT
from services.intake.domain.turnaround import Observed, TurnaroundPolicy, expected_completion
from services.intake.store.repository import IntakeStore, Prepared, RequestRecord


@dataclass(frozen=True)
class Eligible:
    body: VerificationIn
    body_ids: tuple[str, ...]


class Applying:
    def __init__(
        self,
        store: IntakeStore,
        catalogue: EditionCatalogue,
        channels: ChannelDirectory,
        holder_ref_key: bytes,
        policy: TurnaroundPolicy,
    ) -> None:
        self._store = store
        self._catalogue = catalogue
        self._channels = channels
        self._holder_ref_key = holder_ref_key
        self._policy = policy

    def check(self, body: VerificationIn) -> Eligible:
        """The request's bodies if it is eligible today; raises the first Refusal otherwise."""
        facts = check_eligibility(
            _application(body),
            self._catalogue,
            datetime.now(UTC).date(),
            self._channels.required_fields(self._catalogue_bodies(body)),
        )
        return Eligible(body, tuple(body.body_ids or facts.body_ids))

    def _catalogue_bodies(self, body: VerificationIn) -> list[str]:
        facts = self._catalogue.facts(body.qualification_id)
        return list(body.body_ids or (facts.body_ids if facts else ()))

    async def observed(self, body_ids: Sequence[str]) -> dict[str, Observed]:
        return await self._store.observed_turnarounds(sorted(set(body_ids)))

    def estimate(
        self,
        accepted_at: datetime,
        body_ids: Sequence[str],
        observed: dict[str, Observed],
        reported_by_verifier: datetime | None = None,
    ) -> datetime:
        return expected_completion(
            accepted_at,
            body_ids,
            self._channels.configured_seconds(body_ids),
            observed,
            self._policy,
            reported_by_verifier,
        )

    def prepare(
        self, eligible: Eligible, employer_id: UUID, observed: dict[str, Observed]
    ) -> Prepared:
        accepted_at = datetime.now(UTC)
        event = self.requested_event(eligible, employer_id)
        return Prepared(event, accepted_at, self.estimate(accepted_at, eligible.body_ids, observed))

    def requested_event(self, eligible: Eligible, employer_id: UUID) -> VerificationRequested:
        body = eligible.body
        holder = body.holder
        return VerificationRequested(
            request_id=uuid4(),
            employer_id=employer_id,
            region=body.region,
            qualification_id=body.qualification_id,
            body_ids=list(eligible.body_ids),
            holder=HolderClaim(
                name=holder.name,
                name_zh=holder.name_zh,
                nationality=holder.nationality,
                holder_ref=holder_ref(
                    self._holder_ref_key,
                    holder.document_type,
                    holder.nationality,
                    holder.document_number,
                ),
            ),
            certificate=CertificateClaim(
                number=body.certificate.number,
                issued_on=body.certificate.issued_on,
                expires_on=body.certificate.expires_on,
                channel_fields=body.certificate.channel_fields,
            ),
        )

    async def current_expectations(self, records: Sequence[RequestRecord]) -> dict[UUID, datetime]:
        """Expected completion of each request as known now: recomputed from the latest
        observed turnaround until the request is decided, then frozen."""
        undecided = [r for r in records if r.status in IN_FLIGHT]
        observed = await self.observed([b for r in undecided for b in r.body_ids])
        current = {r.id: r.expected_completion_at for r in records}
        for record in undecided:
            current[record.id] = self.estimate(
                record.accepted_at, record.body_ids, observed, record.verifier_expected_at
            )
        return current


def holder_ref(key: bytes, document_type: str, nationality: str, number: str) -> str:
    """Pseudonymous, stable reference of a holder: the same document gives the same reference."""
    message = f"{document_type}:{nationality}:{number.upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _application(body: VerificationIn) -> Application:
    return Application(
        qualification_id=body.qualification_id,
        body_ids=tuple(body.body_ids) if body.body_ids else None,
        region=body.region,
        holder=Holder(
            name=body.holder.name,
            name_zh=body.holder.name_zh,
            nationality=body.holder.nationality,
            document_type=body.holder.document_type,
            document_number=body.holder.document_number,
        ),
        certificate=Certificate(
            number=body.certificate.number,
            issued_on=body.certificate.issued_on,
            expires_on=body.certificate.expires_on,
            channel_fields=body.certificate.channel_fields,
        ),
        consent=body.consent,
    )
