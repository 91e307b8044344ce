"""Translation between protobuf messages and the domain."""

from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2
from services.registry.catalogue.model import Catalogue, ListId, Qualification
from services.registry.catalogue.search import SearchQuery
from services.registry.domain.codes import mask_name
from services.registry.domain.errors import InvalidField
from services.registry.domain.verifications import (
    CodeStatus,
    IssueRequest,
    Verification,
    new_issue_request,
)
from services.registry.store.outcomes import StoredOutcome

_STATUS = {
    CodeStatus.VALID: registry_pb2.CODE_STATUS_VALID,
    CodeStatus.REVOKED: registry_pb2.CODE_STATUS_REVOKED,
}


def issue_request(message: registry_pb2.IssueCodeRequest) -> IssueRequest:
    return new_issue_request(
        request_id=message.request_id,
        qualification_id=message.qualification_id,
        body_ids=list(message.body_ids),
        holder_ref=message.holder_ref,
        holder_name=message.holder_name,
        region=message.region,
        employer_id=message.employer_id,
        verified_at=(
            message.verified_at.ToDatetime(tzinfo=UTC) if message.HasField("verified_at") else None
        ),
    )


def verification_message(
    verification: Verification, personal: bool = True
) -> registry_pb2.Verification:
    """In full for callers entitled to personal data; else the name masked, no holder ref."""
    message = registry_pb2.Verification(
        request_id=str(verification.request_id),
        code=str(verification.code),
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=verification.body_ids,
        holder_ref=verification.holder_ref,
        holder_name=verification.holder_name,
        region=verification.region.value,
        employer_id=verification.employer_id,
        verified_at=_timestamp(verification.verified_at),
        revoked_at=_timestamp(verification.revoked_at),
        revocation_reason=verification.revocation_reason or "",
        statement=verification.statement or "",
    )
    if not personal:
        message.holder_name = mask_name(verification.holder_name)
        message.holder_ref = ""
    return message


def lookup_message(verification: Verification) -> registry_pb2.LookupCodeResponse:
    """What anyone holding the code may see: no holder reference, employer or full name."""
    return registry_pb2.LookupCodeResponse(
        code=str(verification.code),
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=verification.body_ids,
        verified_at=_timestamp(verification.verified_at),
        holder_name_masked=mask_name(verification.holder_name),
        revocation_reason=verification.revocation_reason or "",
    )


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def outcome_message(outcome: StoredOutcome, personal: bool) -> registry_pb2.Outcome:
    return registry_pb2.Outcome(
        cursor=outcome.cursor,
        request_id=str(outcome.request_id),
        region=outcome.region,
        qualification_id=outcome.qualification_id,
        holder_ref=outcome.holder_ref if personal else "",
        verdict=outcome.verdict,
        verification_code=outcome.verification_code or "",
        decided_at=_timestamp(outcome.decided_at),
    )


def search_query(request: registry_pb2.SearchCatalogueRequest, today: date) -> SearchQuery:
    list_id: ListId | None = None
    if request.list_id.strip():
        try:
            list_id = ListId(request.list_id.strip().lower())
        except ValueError:
            allowed = ", ".join(item.value for item in ListId)
            raise InvalidField(
                "list_id", f"must be one of {allowed}", f"必须是以下之一：{allowed}"
            ) from None
    return SearchQuery(
        text=request.text or None,
        body=request.body or None,
        field=request.field or None,
        list_id=list_id,
        active_on=today if request.active_only else None,
    )


def qualification_message(
    catalogue: Catalogue, qualification: Qualification
) -> registry_pb2.Qualification:
    withdrawal = qualification.withdrawal
    return registry_pb2.Qualification(
        id=qualification.id,
        name=qualification.name,
        bodies=[
            registry_pb2.AwardingBody(
                id=body.id, name=body.name, aliases=body.aliases, country=body.country
            )
            for body in catalogue.bodies_of(qualification.id)
        ],
        country=qualification.country,
        fields=qualification.fields,
        list_ids=[list_id.value for list_id in qualification.list_ids()],
        notes=qualification.notes,
        edition_id=catalogue.edition.id,
        withdrawn=withdrawal is not None,
        withdrawn_on=withdrawal.date.isoformat() if withdrawal else "",
        withdrawal_reason=withdrawal.reason if withdrawal else "",
    )


def iso_date(field: str, text: str, default: date) -> date:
    if not text.strip():
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidField(
            field, "must be a date such as 2025-10-01", "必须是日期（例如 2025-10-01）"
        ) from None
